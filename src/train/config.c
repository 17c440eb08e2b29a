/*
 * config.c: from the command line and a --config file to a gan_config (config.h).
 *
 * A config file is the command line written one option per line, `key = value`, with the
 * flag's name as the key (OUT/config.ini is one). Both sources set values through the option
 * table (options.h), which owns the names, kinds, defaults, ranges and words; this file only
 * splits the text, orders the sources and checks what involves several options at once.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

/* ---- config files ------------------------------------------------------------------------ */

/* One `key = value` line of a config file. */
typedef struct {
    char *key, *value; /* owned; surrounding blanks removed */
    int line;          /* 1-based line number in the file */
    const option *o;   /* the key's row */
} file_entry;

typedef struct {
    const char *path;
    file_entry *entries;
    int n, room;
} config_file;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

static char *xstrdup(const char *s)
{
    char *d = xmalloc(strlen(s) + 1);
    return strcpy(d, s);
}

static void file_free(config_file *f)
{
    for (int i = 0; i < f->n; i++) free(f->entries[i].key), free(f->entries[i].value);
    free(f->entries);
    f->entries = NULL, f->n = f->room = 0;
}

/* One line's `key = value`: its key must name an option other than config, once. */
static int file_add(config_file *f, char *text, int line, err_buf *err)
{
    char *eq = strchr(text, '=');
    if (!eq) return err_set(err, "%s:%d: expected 'key = value' or a # comment, found '%.60s'", f->path, line, text);
    *eq = '\0';
    char *key = trim(text), *value = trim(eq + 1);
    if (key[0] == '\0') return err_set(err, "%s:%d: a value without a key", f->path, line);
    const option *o = find_option(key);
    if (!o) return err_set(err, "%s:%d: unknown option '%s' (keys are the flags without --; see --help)", f->path, line, key);
    if (o->offset == offsetof(gan_config, config))
        return err_set(err, "%s:%d: 'config' cannot be set in a config file (give --config once, on the command line)",
                       f->path, line);
    for (int j = 0; j < f->n; j++)
        if (f->entries[j].o == o)
            return err_set(err, "%s:%d: '%s' is set again (first on line %d)", f->path, line, key, f->entries[j].line);
    if (f->n == f->room) {
        f->room = f->room ? 2 * f->room : 32;
        file_entry *grown = realloc(f->entries, sizeof *grown * (size_t)f->room);
        if (!grown) FATAL("out of memory reading %s", f->path);
        f->entries = grown;
    }
    f->entries[f->n++] = (file_entry){xstrdup(key), xstrdup(value), line, o};
    return 0;
}

/* Read f->path: blank lines and lines whose first non-blank character is '#' are skipped;
 * every other line is `key = value` (the value may hold '=', '#' and spaces). */
static int file_read(config_file *f, err_buf *err)
{
    FILE *in = fopen(f->path, "r");
    if (!in) return err_set(err, "--config %s: cannot open: %s", f->path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    int number = 0, rc = 0;
    while (rc == 0 && getline(&line, &cap, in) >= 0) {
        char *text = trim(line);
        number++;
        if (text[0] != '\0' && text[0] != '#') rc = file_add(f, text, number, err);
    }
    if (rc == 0 && ferror(in)) rc = err_set(err, "--config %s: read failed: %s", f->path, strerror(errno));
    free(line);
    fclose(in);
    if (rc) file_free(f);
    return rc;
}

/* ---- the sources, in order ---------------------------------------------------------------- */

/* Which of the two lengths a source gave: one alone sets the length by it (the other unset). */
typedef struct {
    int steps, images;
} length_given;

static void note_length(length_given *g, const option *o)
{
    g->steps |= o->offset == offsetof(gan_config, steps);
    g->images |= o->offset == offsetof(gan_config, images);
}

static void apply_length(gan_config *cfg, length_given g)
{
    if (g.steps && !g.images) cfg->images = 0;
    if (g.images && !g.steps) cfg->steps = 0;
}

static int is_preset(const option *o) { return o->offset == offsetof(gan_config, preset); }

/* Split argv[*i] ("--flag=value" or "--flag value") into its row and value. */
static int next_flag(int argc, char **argv, int *i, const option **o, const char **value, err_buf *err)
{
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0)
        return err_set(err, "unexpected argument '%s' (options start with --; see --help)", arg);
    char name[64];
    const char *eq = strchr(arg + 2, '=');
    size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    if (len >= sizeof name) return err_set(err, "unknown option '%s' (see --help)", arg);
    memcpy(name, arg + 2, len);
    name[len] = '\0';
    *o = find_option(name);
    if (!*o) return err_set(err, "unknown option '--%s' (see --help)", name);
    if (eq) {
        *value = eq + 1;
    } else if ((*o)->implicit && (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0)) {
        *value = (*o)->implicit;
    } else {
        if (*i + 1 >= argc) return err_set(err, "--%s needs a value", name);
        *value = argv[++*i];
    }
    return 0;
}

/* The file's values: in pass 0 its preset (unless the command line has one), in pass 1 the
 * rest. Errors name the file and line. */
static int apply_file(gan_config *cfg, const config_file *f, int pass, int preset_on_command_line, err_buf *err)
{
    length_given given = {0, 0};
    for (int k = 0; k < f->n; k++) {
        const file_entry *e = &f->entries[k];
        if (is_preset(e->o) != (pass == 0) || (is_preset(e->o) && preset_on_command_line)) continue;
        if (option_set(cfg, e->o, e->value, e->o->flag, err)) {
            err_buf inner = *err;
            return err_set(err, "%s:%d: %s", f->path, e->line, inner.msg);
        }
        note_length(&given, e->o);
    }
    if (pass == 1) apply_length(cfg, given);
    return 0;
}

/* The command line's values: in pass 0 its preset, in pass 1 the rest. */
static int apply_command_line(gan_config *cfg, int argc, char **argv, int pass, length_given *given, err_buf *err)
{
    for (int i = 1; i < argc; i++) {
        const option *o = NULL;
        const char *value = NULL;
        char flag[80];
        if (next_flag(argc, argv, &i, &o, &value, err)) return -1;
        if (is_preset(o) != (pass == 0)) continue;
        snprintf(flag, sizeof flag, "--%s", o->flag);
        if (option_set(cfg, o, value, flag, err)) return -1;
        note_length(given, o);
    }
    return 0;
}

/* What involves several options, once every source is applied. */
static int check_config(gan_config *cfg, length_given given, err_buf *err)
{
    if (given.steps && given.images)
        return err_set(err, "--steps and --images both set the run's length; give one of them");
    apply_length(cfg, given); /* the command line's length wins over a preset's or a file's */
    if (cfg->patience > 0 && cfg->eval_every == 0)
        return err_set(err, "--patience %d needs scores: give --eval-every too", cfg->patience);
    if (strcmp(cfg->resume, RESUME_FROM_OUT) == 0) {
        int n = snprintf(cfg->resume, sizeof cfg->resume, "%s/checkpoint.h5", cfg->out);
        if (n >= (int)sizeof cfg->resume) return err_set(err, "--out: path too long");
    }
    if ((long long)cfg->n_samples * cfg->noise_dim > (1LL << 28))
        return err_set(err, "--n-samples x --noise-dim is too large");
    /* Activations are indexed with int: keep every (rows x width) product below 2^31. */
    long long widest = cfg->noise_dim > cfg->g_hidden ? cfg->noise_dim : cfg->g_hidden;
    if (cfg->d_hidden > widest) widest = cfg->d_hidden;
    if (widest < 784) widest = 784; /* image size of MNIST-like data; larger images are checked again at load */
    if (2LL * cfg->batch_size * widest > 2147483647LL ||
        (long long)cfg->noise_dim * cfg->g_hidden + (long long)cfg->g_hidden * 784 > 2147483647LL ||
        (long long)cfg->d_hidden * 784 > 2147483647LL)
        return err_set(err, "--batch-size %d with these layer widths needs buffers beyond 2^31 elements; "
                            "use a smaller --batch-size or hidden size", cfg->batch_size);
    return 0;
}

/* Before anything is applied: --help or --version anywhere, the --config file (the last one
 * named) and whether the command line sets the preset. */
static int scan_command_line(int argc, char **argv, const char **file, int *preset_given, err_buf *err)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return CONFIG_HELP;
        if (strcmp(argv[i], "--version") == 0) return CONFIG_VERSION;
    }
    for (int i = 1; i < argc; i++) {
        const option *o = NULL;
        const char *value = NULL;
        if (next_flag(argc, argv, &i, &o, &value, err)) return CONFIG_ERROR;
        if (o->offset == offsetof(gan_config, config)) *file = value;
        *preset_given |= is_preset(o);
    }
    return CONFIG_RUN;
}

int config_parse(gan_config *cfg, int argc, char **argv, const char **help, err_buf *err)
{
    options_defaults(cfg);
    *help = NULL;
    const char *path = NULL;
    int preset_on_command_line = 0;
    int rc = scan_command_line(argc, argv, &path, &preset_on_command_line, err);
    if (rc == CONFIG_HELP) *help = options_help();
    if (rc != CONFIG_RUN) return rc;
    config_file file = {path, NULL, 0, 0};
    if (path && file_read(&file, err)) return CONFIG_ERROR;
    /* Pass 0: the preset (the command line's, else the file's), so that any other value
     * overrides it wherever it stands. Pass 1: the file, then the command line over it. */
    length_given given = {0, 0};
    for (int pass = 0; pass < 2 && rc == 0; pass++)
        rc = apply_file(cfg, &file, pass, preset_on_command_line, err) ||
             apply_command_line(cfg, argc, argv, pass, &given, err);
    file_free(&file);
    if (rc || check_config(cfg, given, err)) return CONFIG_ERROR;
    return CONFIG_RUN;
}
