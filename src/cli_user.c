/* cli_user.c - the `user` subcommand: staff accounts from the command line.
 *
 * `nuanyang user add|passwd|disable|enable|list` manages who can log in to
 * the platform: add creates the staff row when it is missing and sets the
 * first password, passwd replaces it, disable and enable switch the account
 * off (revoking its sessions) and on again, list shows every account without
 * any hash. Passwords come from one line of stdin (--password-stdin, for
 * scripts) or are typed twice on the terminal without echo; the rules and
 * the hashing are those of the auth module (auth.h), and every write goes
 * through the store (store.h), so the command works on either engine. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "cli.h"
#include "domain.h"

/* Room for a password line: the policy's maximum in 4-byte characters. */
#define PASSWORD_BUF (AUTH_PASSWORD_MAX * 4 + 2)

static const char *const usage_text =
    "usage: nuanyang user <command> --db FILE|postgresql://... [options]\n\n"
    "Staff accounts (账号管理):\n"
    "  add ACCOUNT      create the staff member if needed and set the first password\n"
    "  passwd ACCOUNT   set a new password (ends every session of the account)\n"
    "  disable ACCOUNT  refuse logins and end every session\n"
    "  enable ACCOUNT   allow logins again (clears a lockout)\n"
    "  list             every account, its role, unit and state (no hashes)\n\n"
    "Passwords: at least 8 characters, not only digits, not the account name.\n"
    "They are read from one line of stdin with --password-stdin, else typed twice\n"
    "on the terminal. 'nuanyang user <command> --help' describes each command.\n";

/* ---- reading a password -------------------------------------------------- */

/* Reads one line from f into buf without its line end; 0 at EOF or when the
 * line does not fit. */
static int read_line(FILE *f, char *buf, size_t size)
{
    if (!fgets(buf, (int)size, f))
        return 0;
    size_t n = strlen(buf);
    if (n == size - 1 && buf[n - 1] != '\n' && !feof(f))
        return 0;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return 1;
}

/* Prompts on stderr and reads a line from the terminal on stdin without
 * echo. */
static int read_hidden(const char *prompt, char *buf, size_t size)
{
    struct termios old, quiet;
    fputs(prompt, stderr);
    fflush(stderr);
    if (tcgetattr(STDIN_FILENO, &old) != 0)
        return 0;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
        return 0;
    int ok = read_line(stdin, buf, size);
    int restored = tcsetattr(STDIN_FILENO, TCSAFLUSH, &old) == 0;
    fputc('\n', stderr);
    return ok && restored;
}

/* The new password for cmd into buf: one line of stdin with from_stdin,
 * else typed twice on the terminal. Returns a CLI_* code. */
static int read_password(const char *cmd, int from_stdin, char buf[PASSWORD_BUF])
{
    char again[PASSWORD_BUF];
    if (from_stdin) {
        if (!read_line(stdin, buf, PASSWORD_BUF)) {
            fprintf(stderr, "nuanyang %s: no password line on stdin (or a line over %d bytes)\n",
                    cmd, PASSWORD_BUF - 2);
            return CLI_FAIL;
        }
        return CLI_OK;
    }
    if (!isatty(STDIN_FILENO))
        return cli_usage_error(cmd, "no password: give --password-stdin and one line on stdin, "
                                    "or run on a terminal");
    int rc = CLI_OK;
    if (!read_hidden("新密码 new password: ", buf, PASSWORD_BUF) ||
        !read_hidden("再输一次 again: ", again, sizeof again)) {
        fprintf(stderr, "nuanyang %s: could not read the password from the terminal\n", cmd);
        rc = CLI_FAIL;
    } else if (strcmp(buf, again) != 0) {
        fprintf(stderr, "nuanyang %s: 两次输入的密码不一致 / the passwords differ\n", cmd);
        rc = CLI_FAIL;
    }
    explicit_bzero(again, sizeof again);
    return rc;
}

/* ---- shared option handling ---------------------------------------------- */

/* What the account commands accept; which options apply depends on the
 * command (see parse). */
struct args {
    const char *db, *account, *name, *role, *unit, *phone, *department;
    int password_stdin, json;
};

enum { OPT_DB = 'd', OPT_HELP = 'h', OPT_STDIN = 's', OPT_JSON = 'j' };
enum { OPT_NAME = 256, OPT_ROLE, OPT_UNIT, OPT_PHONE, OPT_DEPARTMENT };

/* Parses argv for cmd (argv[0] is the command word) with the options in
 * opts; help is printed for --help. want_account: 1 if exactly one ACCOUNT
 * follows. Returns CLI_OK, CLI_USAGE, or -1 after printing help. */
static int parse(const char *cmd, int argc, char **argv, const struct option *opts,
                 int want_account, const char *help, struct args *a)
{
    int c;
    memset(a, 0, sizeof *a);
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            a->db = optarg;
            break;
        case OPT_STDIN:
            a->password_stdin = 1;
            break;
        case OPT_JSON:
            a->json = 1;
            break;
        case OPT_NAME:
            a->name = optarg;
            break;
        case OPT_ROLE:
            a->role = optarg;
            break;
        case OPT_UNIT:
            a->unit = optarg;
            break;
        case OPT_PHONE:
            a->phone = optarg;
            break;
        case OPT_DEPARTMENT:
            a->department = optarg;
            break;
        case OPT_HELP:
            fputs(help, stdout);
            return -1;
        default:
            return cli_usage_error(cmd, "bad option");
        }
    }
    if (want_account && optind < argc)
        a->account = argv[optind++];
    if (want_account && (!a->account || !*a->account))
        return cli_usage_error(cmd, "no ACCOUNT given");
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!(a->db = cli_db_uri(cmd, a->db)))
        return CLI_USAGE;
    return CLI_OK;
}

#define OPTS_COMMON                                                                                \
    {"db", required_argument, 0, OPT_DB},                                                          \
    {                                                                                              \
        "help", no_argument, 0, OPT_HELP                                                           \
    }

/* ---- add ------------------------------------------------------------------ */

/* The staff row of an existing account, compared with add's options. */
struct existing {
    const struct args *a;
    int found, differs;
};

static int differs(const char *given, const char *stored)
{
    return given && strcmp(given, stored) != 0;
}

static int compare_staff(void *ctx, const store_staff *p)
{
    struct existing *x = ctx;
    x->found = 1;
    x->differs = differs(x->a->name, p->name) || differs(x->a->role, p->role) ||
                 differs(x->a->unit, p->unit_code) || differs(x->a->phone, p->phone) ||
                 differs(x->a->department, p->department);
    return NY_OK;
}

static int note_password(void *ctx, const store_staff *p, const store_credential *c)
{
    (void)p;
    *(int *)ctx = c->password_hash != NULL;
    return NY_OK;
}

/* Checks add's options for a new staff row; CLI_OK or CLI_USAGE. */
static int check_new_staff(const char *cmd, const struct args *a)
{
    if (!a->name || !a->role || !a->unit)
        return cli_usage_error(cmd,
                               "account '%s' does not exist yet: give --name, --role and "
                               "--unit to create it",
                               a->account);
    if (domain_index(domain_roles, a->role) < 0)
        return cli_usage_error(cmd, "unknown role '%s' (expected %s)", a->role,
                               domain_list_text(domain_roles));
    if ((strcmp(a->role, "department") == 0) != (a->department && *a->department))
        return cli_usage_error(cmd, "--department is needed for role department, and only then");
    return CLI_OK;
}

/* Creates the staff row if needed and sets the password, in one transaction. */
static int add_account(store *s, const struct args *a, int create, const char *password, ny_err *e)
{
    store_staff p = {0,
                     a->account,
                     a->name,
                     a->phone ? a->phone : "",
                     a->role,
                     a->unit,
                     a->department ? a->department : ""};
    int rc = store_begin(s, e);
    if (rc != NY_OK)
        return rc;
    if (create)
        rc = store_staff_put_batch(s, &p, 1, NULL, e);
    if (rc == NY_OK)
        rc = auth_set_password(s, NULL, a->account, password, (int64_t)time(NULL), e);
    if (rc == NY_OK)
        return store_commit(s, e);
    ny_err ignore;
    store_rollback(s, &ignore);
    return rc;
}

static int user_add(int argc, char **argv)
{
    static const struct option opts[] = {OPTS_COMMON,
                                         {"name", required_argument, 0, OPT_NAME},
                                         {"role", required_argument, 0, OPT_ROLE},
                                         {"unit", required_argument, 0, OPT_UNIT},
                                         {"phone", required_argument, 0, OPT_PHONE},
                                         {"department", required_argument, 0, OPT_DEPARTMENT},
                                         {"password-stdin", no_argument, 0, OPT_STDIN},
                                         {0, 0, 0, 0}};
    static const char help[] =
        "usage: nuanyang user add --db FILE|postgresql://... ACCOUNT --name NAME --role ROLE\n"
        "                         --unit CODE [--phone PHONE] [--department DEPT]\n"
        "                         [--password-stdin]\n\n"
        "Creates the staff member ACCOUNT (when there is none yet) and sets the first\n"
        "password. ROLE is grid_worker, community, street, district, department or\n"
        "admin; CODE names the unit whose subtree the account may see; role department\n"
        "needs --department (e.g. 区住建局). For a staff member that exists already (for\n"
        "example imported from CSV) the staff options may be left out. An account that\n"
        "has a password is refused: use 'nuanyang user passwd'.\n";
    const char *cmd = "user add";
    struct args a;
    int rc = parse(cmd, argc, argv, opts, 1, help, &a);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    store *s;
    if ((rc = cli_open(cmd, a.db, 1, &s)) != CLI_OK)
        return rc;
    ny_err e;
    struct existing x = {&a, 0, 0};
    int has_password = 0;
    char password[PASSWORD_BUF];
    rc = store_staff_find(s, a.account, compare_staff, &x, &e);
    if (rc == NY_OK)
        rc = store_credential_get(s, a.account, note_password, &has_password, &e);
    if (rc != NY_OK && rc != NY_ENOTFOUND) {
        rc = cli_fail(cmd, &e);
    } else if (x.found && x.differs) {
        fprintf(stderr,
                "nuanyang %s: account '%s' exists with other details; user add does not "
                "change staff members\n",
                cmd, a.account);
        rc = CLI_FAIL;
    } else if (has_password) {
        fprintf(stderr,
                "nuanyang %s: account '%s' already has a password; use 'nuanyang user "
                "passwd'\n",
                cmd, a.account);
        rc = CLI_FAIL;
    } else if ((rc = x.found ? CLI_OK : check_new_staff(cmd, &a)) == CLI_OK &&
               (rc = read_password(cmd, a.password_stdin, password)) == CLI_OK) {
        if (auth_password_check(a.account, password, &e) != NY_OK ||
            add_account(s, &a, !x.found, password, &e) != NY_OK)
            rc = cli_fail(cmd, &e);
        else
            printf("account %s %s with a password\n", a.account, x.found ? "given" : "created");
    }
    explicit_bzero(password, sizeof password);
    store_close(s);
    return rc;
}

/* ---- passwd, disable, enable ---------------------------------------------- */

static int user_passwd(int argc, char **argv)
{
    static const struct option opts[] = {
        OPTS_COMMON, {"password-stdin", no_argument, 0, OPT_STDIN}, {0, 0, 0, 0}};
    static const char help[] =
        "usage: nuanyang user passwd --db FILE|postgresql://... ACCOUNT [--password-stdin]\n\n"
        "Sets a new password for ACCOUNT and ends all of its sessions. A lockout after\n"
        "failed logins is cleared; a disabled account stays disabled.\n";
    const char *cmd = "user passwd";
    struct args a;
    int rc = parse(cmd, argc, argv, opts, 1, help, &a);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    store *s;
    if ((rc = cli_open(cmd, a.db, 1, &s)) != CLI_OK)
        return rc;
    ny_err e;
    char password[PASSWORD_BUF];
    struct existing x = {&a, 0, 0};
    if (store_staff_find(s, a.account, compare_staff, &x, &e) != NY_OK) {
        rc = cli_fail(cmd, &e);
    } else if ((rc = read_password(cmd, a.password_stdin, password)) == CLI_OK) {
        if (auth_set_password(s, NULL, a.account, password, (int64_t)time(NULL), &e) != NY_OK)
            rc = cli_fail(cmd, &e);
        else
            printf("account %s has a new password; its sessions are ended\n", a.account);
    }
    explicit_bzero(password, sizeof password);
    store_close(s);
    return rc;
}

/* disable (disabled = 1) or enable (0). */
static int user_switch(int argc, char **argv, int disabled)
{
    static const struct option opts[] = {OPTS_COMMON, {0, 0, 0, 0}};
    static const char disable_help[] =
        "usage: nuanyang user disable --db FILE|postgresql://... ACCOUNT\n\n"
        "Refuses every further login of ACCOUNT and ends its sessions at once. The\n"
        "password is kept; 'nuanyang user enable' allows logins again.\n";
    static const char enable_help[] =
        "usage: nuanyang user enable --db FILE|postgresql://... ACCOUNT\n\n"
        "Allows ACCOUNT to log in again after 'user disable' and clears a lockout\n"
        "left by failed logins.\n";
    const char *cmd = disabled ? "user disable" : "user enable";
    struct args a;
    int rc = parse(cmd, argc, argv, opts, 1, disabled ? disable_help : enable_help, &a);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    store *s;
    if ((rc = cli_open(cmd, a.db, 1, &s)) != CLI_OK)
        return rc;
    ny_err e;
    if (auth_set_disabled(s, a.account, disabled, (int64_t)time(NULL), &e) != NY_OK)
        rc = cli_fail(cmd, &e);
    else
        printf(disabled ? "account %s disabled; its sessions are ended\n" : "account %s enabled\n",
               a.account);
    store_close(s);
    return rc;
}

/* ---- list ----------------------------------------------------------------- */

/* The state word of an account at now. */
static const char *state_of(const store_credential *c, int64_t now)
{
    if (c->disabled)
        return "disabled";
    if (!c->password_hash)
        return "no-password";
    return c->locked_until > now ? "locked" : "active";
}

struct listing {
    json_t *rows; /* NULL for the table */
    int64_t now;
};

static int list_row(void *ctx, const store_staff *p, const store_credential *c)
{
    struct listing *l = ctx;
    if (!l->rows) {
        printf("%-20s %-12s %-16s %-12s %s\n", p->account, p->role, p->unit_code,
               state_of(c, l->now), p->name);
        return NY_OK;
    }
    json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:b, s:i, s:I, s:I}", "account",
                            p->account, "name", p->name, "role", p->role, "unit", p->unit_code,
                            "department", p->department, "password", c->password_hash != NULL,
                            "state", state_of(c, l->now), "disabled", c->disabled, "failures",
                            c->failures, "locked_until", (json_int_t)c->locked_until,
                            "password_changed_at", (json_int_t)c->password_changed_at);
    return row && json_array_append_new(l->rows, row) == 0 ? NY_OK : NY_ERR;
}

static int user_list(int argc, char **argv)
{
    static const struct option opts[] = {
        OPTS_COMMON, {"json", no_argument, 0, OPT_JSON}, {0, 0, 0, 0}};
    static const char help[] =
        "usage: nuanyang user list --db FILE|postgresql://... [--json]\n\n"
        "Every staff account by name: account, role, unit code, state (active,\n"
        "locked, disabled, or no-password: cannot log in) and name; --json prints\n"
        "one array with the failure count and times as well. Hashes are never shown.\n";
    const char *cmd = "user list";
    struct args a;
    int rc = parse(cmd, argc, argv, opts, 0, help, &a);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    store *s;
    if ((rc = cli_open(cmd, a.db, 1, &s)) != CLI_OK)
        return rc;
    ny_err e;
    struct listing l = {a.json ? json_array() : NULL, (int64_t)time(NULL)};
    if (a.json && !l.rows) {
        store_close(s);
        fprintf(stderr, "nuanyang %s: out of memory\n", cmd);
        return CLI_FAIL;
    }
    if (!a.json)
        printf("%-20s %-12s %-16s %-12s %s\n", "account", "role", "unit", "state", "name");
    int src = store_credentials_each(s, list_row, &l, &e);
    if (src == NY_ERR && !e.msg[0])
        ny_err_set(&e, NY_ERR, "out of memory");
    if (src != NY_OK) {
        rc = cli_fail(cmd, &e);
    } else if (a.json) {
        char *text = json_dumps(l.rows, JSON_COMPACT);
        if (text)
            puts(text);
        else
            fprintf(stderr, "nuanyang %s: out of memory\n", cmd);
        rc = text ? CLI_OK : CLI_FAIL;
        free(text);
    }
    json_decref(l.rows);
    store_close(s);
    return rc;
}

/* ---- dispatch ------------------------------------------------------------- */

int cmd_user(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("user", "which one: add, passwd, disable, enable or list?");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        fputs(usage_text, stdout);
        return CLI_OK;
    }
    if (strcmp(sub, "add") == 0)
        return user_add(argc - 1, argv + 1);
    if (strcmp(sub, "passwd") == 0)
        return user_passwd(argc - 1, argv + 1);
    if (strcmp(sub, "disable") == 0)
        return user_switch(argc - 1, argv + 1, 1);
    if (strcmp(sub, "enable") == 0)
        return user_switch(argc - 1, argv + 1, 0);
    if (strcmp(sub, "list") == 0)
        return user_list(argc - 1, argv + 1);
    return cli_usage_error("user", "unknown command '%s' (add, passwd, disable, enable, list)",
                           sub);
}
