# nuanyang build. `make` builds build/nuanyang; `make run` and `make test` also
# install missing Debian packages (scripts/deps.sh) first. Every binary is
# built twice: hardened (build/) and with AddressSanitizer + UBSan (build/asan/).

CC      ?= gcc
PKGS    := sqlite3 jansson libpq openssl libutf8proc opencc libsodium libmicrohttpd libcurl
WARN    := -std=c17 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -g
HARDEN  := -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection \
           -fcf-protection -fPIE
SAN     := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# lazily expanded: pkg-config runs after scripts/deps.sh installed the packages
PKGCFLAGS = $(shell pkg-config --cflags $(PKGS))
PKGLIBS   = $(shell pkg-config --libs $(PKGS)) -llinear -lm -pthread
BENCHLIBS = $(shell pkg-config --libs libhs 2>/dev/null)
CMOCKA    = $(shell pkg-config --libs cmocka)

SRC      := $(wildcard src/*.c)
LIBSRC   := $(filter-out src/main.c,$(SRC))
TESTSRC  := $(wildcard tests/test_*.c)
TESTLIB  := tests/testutil.c
# bench/bench_NAME_*.c are parts of the program bench/bench_NAME.c
BENCHPART := $(wildcard bench/bench_ingest_*.c)
BENCHSRC := $(filter-out $(BENCHPART),$(wildcard bench/bench_*.c))

OBJ      := $(LIBSRC:src/%.c=build/obj/%.o)
SOBJ     := $(LIBSRC:src/%.c=build/asan/obj/%.o)
TESTS    := $(TESTSRC:tests/%.c=build/tests/%)
STESTS   := $(TESTSRC:tests/%.c=build/asan/tests/%)
BENCHES  := $(BENCHSRC:bench/%.c=build/bench/%)

DB      ?= var/demo.db

# quiet rules unless V=1
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n'
endif

.PHONY: all build deps deps-test deps-bench run test bench fuzz clean format web_gz
all: deps
	@$(MAKE) --no-print-directory build

build: build/nuanyang build/asan/nuanyang data/words.txt $(TESTS) $(STESTS) web/node_modules/.package-lock.json web_gz

deps:
	@scripts/deps.sh build

# The word list of the short category model's word features (src/model_words.c):
# generated, not committed, from the dictionary of the Debian package
# python3-jieba (installed by deps): every word of 2-8 code points with a
# frequency of at least 100, in the dictionary's order. The committed models
# were trained with exactly this list (data/models/README.md).
JIEBA_DICT ?= /usr/lib/python3/dist-packages/jieba/dict.txt
data/words.txt: $(JIEBA_DICT)
	$(say) GEN $@
	$(Q)python3 -c 'import sys; [print(w) for w, f, *_ in (l.split() for l in open(sys.argv[1], encoding="utf-8")) if int(f) >= 100 and 2 <= len(w) <= 8]' $< > $@.tmp && mv $@.tmp $@
deps-test:
	@scripts/deps.sh test
deps-bench:
	@scripts/deps.sh bench

build/obj/%.o: src/%.c $(wildcard src/*.h) | build/obj
	$(say) CC $@
	$(Q)$(CC) $(WARN) $(HARDEN) $(PKGCFLAGS) -Isrc -c $< -o $@
build/asan/obj/%.o: src/%.c $(wildcard src/*.h) | build/asan/obj
	$(say) CC $@
	$(Q)$(CC) $(WARN) $(SAN) $(PKGCFLAGS) -Isrc -c $< -o $@

build/nuanyang: build/obj/main.o $(OBJ)
	$(say) LINK $@
	$(Q)$(CC) $(HARDEN) -pie -Wl,-z,relro,-z,now $^ $(PKGLIBS) -o $@
build/asan/nuanyang: build/asan/obj/main.o $(SOBJ)
	$(say) LINK $@
	$(Q)$(CC) $(SAN) $^ $(PKGLIBS) -o $@

build/tests/%: tests/%.c $(TESTLIB) tests/testutil.h $(OBJ) | build/tests
	$(say) LINK $@
	$(Q)$(CC) $(WARN) $(HARDEN) $(PKGCFLAGS) -Isrc -Itests $(filter %.c,$^) $(OBJ) $(PKGLIBS) $(CMOCKA) -o $@
build/asan/tests/%: tests/%.c $(TESTLIB) tests/testutil.h $(SOBJ) | build/asan/tests
	$(say) LINK $@
	$(Q)$(CC) $(WARN) $(SAN) $(PKGCFLAGS) -Isrc -Itests $(filter %.c,$^) $(SOBJ) $(PKGLIBS) $(CMOCKA) -o $@
# test_ingest_read shares its differential check with the fuzz harness below
build/tests/test_ingest_read build/asan/tests/test_ingest_read: tests/ingest_diff.c tests/ingest_diff.h
build/bench/%: bench/%.c $(OBJ) | build/bench
	$(say) LINK $@
	$(Q)$(CC) $(WARN) $(HARDEN) $(PKGCFLAGS) -Isrc $< $(OBJ) $(PKGLIBS) $(BENCHLIBS) -o $@
build/bench/bench_ingest: bench/bench_ingest.c $(BENCHPART) bench/bench_ingest.h $(OBJ) | build/bench
	$(say) LINK $@
	$(Q)$(CC) $(WARN) $(HARDEN) $(PKGCFLAGS) -Isrc $(filter %.c,$^) $(OBJ) $(PKGLIBS) $(BENCHLIBS) -o $@

# The web front end's npm packages (ECharts for the pages, playwright-core for
# the browser tests), installed from the committed lock file when missing.
web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	$(say) NPM web/node_modules
	$(Q)cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null
	$(Q)touch $@

# gzip -9 copies of the web front end's text files, sent to browsers that
# accept gzip (src/server_static.c; a copy older than its file is not used).
WEB_GZ := $(addsuffix .gz,$(wildcard web/*.html web/*.css web/*.svg web/js/*.js)) \
          web/node_modules/echarts/dist/echarts.esm.min.mjs.gz
web_gz: $(WEB_GZ)
web/%.gz: web/%
	$(say) GZIP $@
	$(Q)gzip -9 -n -c $< >$@.tmp && mv $@.tmp $@
web/node_modules/echarts/dist/echarts.esm.min.mjs: | web/node_modules/.package-lock.json

build/obj build/asan/obj build/tests build/asan/tests build/bench build/fuzz/obj var:
	$(Q)mkdir -p $@

# The demo district with the default policies and lexicon, created once;
# then its statistics, and the server on http://$(LISTEN) with the demo
# logins (Ctrl-C stops it).
LISTEN ?= 127.0.0.1:8080
run: deps
	@$(MAKE) --no-print-directory build/nuanyang data/words.txt var web_gz
	@if [ ! -e $(DB) ]; then \
	  echo "Creating the demo district in $(DB) ..."; \
	  build/nuanyang demo --db $(DB) || exit 1; \
	  build/nuanyang import --db $(DB) policies data/policies.csv || exit 1; \
	  build/nuanyang import --db $(DB) lexicon data/lexicon.csv || exit 1; fi
	@build/nuanyang stats --db $(DB)
	@printf '\nnuanyang serves the demo district at http://%s\n\n' "$(LISTEN)"
	@printf '  %-12s %-20s %s\n' role account sees \
	  admin admin '羊山新区 (everything)' district district1 羊山新区 \
	  street street01 前进街道 community comm411571001001 新都社区 \
	  grid_worker gw411571001001001 新都社区第一网格 department dept-zhujian 区住建局
	@printf '\n  password: yangshan2026   e.g. curl -s http://%s/api/v1/login -d %s\n\n' \
	  "$(LISTEN)" "'{\"account\":\"street01\",\"password\":\"yangshan2026\"}'"
	@exec build/nuanyang serve --db $(DB) --listen $(LISTEN)

# Unit and CLI tests on SQLite, then on a throw-away PostgreSQL cluster
# (NUANYANG_SKIP_PG=1 skips the PostgreSQL run, and says so).
test: deps deps-test
	@$(MAKE) --no-print-directory build
	@tests/run.sh

bench: deps deps-bench
	@$(MAKE) --no-print-directory build/nuanyang data/words.txt $(BENCHES) web_gz
	@bench/run.sh

# libFuzzer (clang) on the ingest body reader: the fast reader against the
# jansson path (tests/fuzz_ingest_read.c), FUZZ_SECONDS long, from the seed
# bodies of tests/data/fuzz_ingest_read; new inputs go to build/fuzz/corpus.
# The files of the body path are built by clang with coverage and
# sanitizers, the rest of the server is the release build's objects (some
# use GCC vector builtins clang lacks). Not part of `make test`.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 180
FUZZSAN      := -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZSRC      := src/server_ingest_read.c src/server_ingest.c src/server_http.c src/domain.c
FOBJ         := $(FUZZSRC:src/%.c=build/fuzz/obj/%.o)
build/fuzz/obj/%.o: src/%.c $(wildcard src/*.h) | build/fuzz/obj
	$(say) CC $@
	$(Q)$(FUZZ_CC) $(WARN) $(FUZZSAN) -fsanitize=fuzzer-no-link,address,undefined $(PKGCFLAGS) -Isrc -c $< -o $@
build/fuzz/fuzz_ingest_read: tests/fuzz_ingest_read.c tests/ingest_diff.c tests/ingest_diff.h $(FOBJ) \
                             $(filter-out $(FUZZSRC:src/%.c=build/obj/%.o),$(OBJ))
	$(say) LINK $@
	$(Q)$(FUZZ_CC) $(WARN) $(FUZZSAN) -fsanitize=fuzzer,address,undefined $(PKGCFLAGS) -Isrc -Itests \
	  $(filter %.c %.o,$^) $(PKGLIBS) -o $@
fuzz: deps
	@$(MAKE) --no-print-directory build/fuzz/fuzz_ingest_read
	@mkdir -p build/fuzz/corpus
	build/fuzz/fuzz_ingest_read -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	  -dict=tests/data/fuzz_ingest_read.dict build/fuzz/corpus tests/data/fuzz_ingest_read

format:
	clang-format -i src/*.c src/*.h tests/*.c tests/*.h $(wildcard bench/*.c)

clean:
	rm -rf build $(WEB_GZ)
