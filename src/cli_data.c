/* cli_data.c - the `init`, `import` and `export` subcommands.
 *
 * Thin wrappers: they parse options, open the store (which creates or
 * migrates the schema) and hand the work to the import module, which owns
 * CSV validation and the all-or-nothing transaction. Errors from import carry
 * their own `FILE:LINE: column: reason` text and are printed unchanged. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "domain.h"
#include "import.h"

static int print_help_init(void)
{
    printf("usage: nuanyang init --db FILE|postgresql://...\n\n"
           "Creates the database if absent and applies pending schema migrations\n"
           "(建库并升级到当前版本). Refuses a database written by a newer nuanyang.\n");
    return CLI_OK;
}

int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *db = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        if (c == 'd')
            db = optarg;
        else if (c == 'h')
            return print_help_init();
        else
            return cli_usage_error("init", "bad option");
    }
    if (optind < argc)
        return cli_usage_error("init", "unexpected argument '%s'", argv[optind]);
    if (!(db = cli_db_uri("init", db)))
        return CLI_USAGE;
    store *s;
    int rc = cli_open("init", db, 0, &s);
    if (rc != CLI_OK)
        return rc;
    int version = 0;
    ny_err e;
    if (store_schema_version(s, &version, &e) != NY_OK) {
        store_close(s);
        return cli_fail("init", &e);
    }
    printf("%s database ready, schema version %d\n", store_engine(s), version);
    store_close(s);
    return CLI_OK;
}

static void print_kinds(FILE *out)
{
    for (int i = 0; import_kinds[i]; i++)
        fprintf(out, "%s%s", i ? "|" : "", import_kinds[i]);
}

static int print_help_transfer(const char *cmd)
{
    int is_import = strcmp(cmd, "import") == 0;
    printf("usage: nuanyang %s --db FILE|postgresql://... {", cmd);
    print_kinds(stdout);
    printf("} FILE%s\n\n", is_import ? "" : " [--full-phones]");
    if (is_import)
        printf("Loads a UTF-8 CSV file with a header row (导入). The whole file is one\n"
               "transaction: if any row is bad, nothing is written and the first problem is\n"
               "reported as FILE:LINE: column: reason.\n");
    else
        printf("Writes the rows as UTF-8 CSV with a header row (导出), in the format\n"
               "import reads; FILE '-' is standard output. Phone numbers are masked\n"
               "(138****5678) unless --full-phones is given.\n");
    printf("\ncolumns:\n"
           "  units        code,name,level,parent_code\n"
           "  groups       platform,external_id,kind,unit_code,name,members,target\n"
           "  staff        account,name,phone,role,unit_code,department\n"
           "  households   code,grid_code,address,size,phone\n"
           "  enterprises  uscc,name,industry,grid_code\n"
           "  policies     code,title,category,audience,department,summary,eligibility,"
           "how_to_apply,keywords\n"
           "  lexicon      term,kind,intent,category,weight,action\n");
    return CLI_OK;
}

/* Shared by import and export: --db, --help, KIND FILE (+ --full-phones). */
static int cmd_transfer(const char *cmd, int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, 0, 'd'},
                                         {"full-phones", no_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int is_import = strcmp(cmd, "import") == 0, full_phones = 0, c;
    const char *db = NULL;
    while ((c = getopt_long(argc, argv, "d:fh", opts, NULL)) != -1) {
        if (c == 'd')
            db = optarg;
        else if (c == 'f' && !is_import)
            full_phones = 1;
        else if (c == 'h')
            return print_help_transfer(cmd);
        else
            return cli_usage_error(cmd, "bad option");
    }
    if (argc - optind != 2)
        return cli_usage_error(cmd, "expected KIND FILE");
    const char *kind = argv[optind], *path = argv[optind + 1];
    if (domain_index(import_kinds, kind) < 0) {
        fprintf(stderr, "nuanyang %s: unknown kind '%s' (expected ", cmd, kind);
        print_kinds(stderr);
        fprintf(stderr, ")\n");
        return CLI_USAGE;
    }
    if (!(db = cli_db_uri(cmd, db)))
        return CLI_USAGE;
    store *s;
    int rc = cli_open(cmd, db, !is_import, &s);
    if (rc != CLI_OK)
        return rc;
    long rows = 0;
    ny_err e;
    rc = is_import ? import_csv(s, kind, path, &rows, &e)
                   : export_csv(s, kind, path, full_phones, &rows, &e);
    store_close(s);
    if (rc != NY_OK)
        return cli_fail(cmd, &e);
    fprintf(stderr, "%s %ld %s %s %s\n", is_import ? "imported" : "exported", rows, kind,
            is_import ? "from" : "to", strcmp(path, "-") == 0 ? "standard output" : path);
    return CLI_OK;
}

int cmd_import(int argc, char **argv)
{
    return cmd_transfer("import", argc, argv);
}

int cmd_export(int argc, char **argv)
{
    return cmd_transfer("export", argc, argv);
}
