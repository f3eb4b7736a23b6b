/* The names of the shell builtin ids (fusevm.h, FVM_SHELL_BUILTIN_LIST):
 * every name a shell may look up, aliases included, with its id. */
#include <string.h>

#include <fusevm.h>

/* In id order; an id's first name is its canonical one. Two ids have no
 * name: DOT ("." is an alias of source) and DECLARE ("declare" shares
 * typeset's id). */
static const struct {
    const char *name;
    uint16_t id;
} builtin_names[] = {
    {"cd", FVM_BUILTIN_CD}, {"chdir", FVM_BUILTIN_CD}, {"pwd", FVM_BUILTIN_PWD},
    {"echo", FVM_BUILTIN_ECHO}, {"print", FVM_BUILTIN_PRINT}, {"printf", FVM_BUILTIN_PRINTF},
    {"export", FVM_BUILTIN_EXPORT}, {"unset", FVM_BUILTIN_UNSET},
    {"source", FVM_BUILTIN_SOURCE}, {".", FVM_BUILTIN_SOURCE}, {"exit", FVM_BUILTIN_EXIT},
    {"bye", FVM_BUILTIN_EXIT}, {"logout", FVM_BUILTIN_EXIT}, {"return", FVM_BUILTIN_RETURN},
    {"true", FVM_BUILTIN_TRUE}, {"false", FVM_BUILTIN_FALSE}, {"test", FVM_BUILTIN_TEST},
    {"[", FVM_BUILTIN_TEST}, {":", FVM_BUILTIN_COLON}, {"local", FVM_BUILTIN_LOCAL},
    {"declare", FVM_BUILTIN_TYPESET}, {"typeset", FVM_BUILTIN_TYPESET},
    {"readonly", FVM_BUILTIN_READONLY}, {"integer", FVM_BUILTIN_INTEGER},
    {"float", FVM_BUILTIN_FLOAT}, {"read", FVM_BUILTIN_READ}, {"mapfile", FVM_BUILTIN_MAPFILE},
    {"readarray", FVM_BUILTIN_MAPFILE}, {"break", FVM_BUILTIN_BREAK},
    {"continue", FVM_BUILTIN_CONTINUE}, {"shift", FVM_BUILTIN_SHIFT}, {"eval", FVM_BUILTIN_EVAL},
    {"exec", FVM_BUILTIN_EXEC}, {"command", FVM_BUILTIN_COMMAND},
    {"builtin", FVM_BUILTIN_BUILTIN}, {"let", FVM_BUILTIN_LET}, {"jobs", FVM_BUILTIN_JOBS},
    {"fg", FVM_BUILTIN_FG}, {"bg", FVM_BUILTIN_BG}, {"kill", FVM_BUILTIN_KILL},
    {"disown", FVM_BUILTIN_DISOWN}, {"wait", FVM_BUILTIN_WAIT},
    {"suspend", FVM_BUILTIN_SUSPEND}, {"history", FVM_BUILTIN_HISTORY}, {"fc", FVM_BUILTIN_FC},
    {"r", FVM_BUILTIN_R}, {"alias", FVM_BUILTIN_ALIAS}, {"unalias", FVM_BUILTIN_UNALIAS},
    {"set", FVM_BUILTIN_SET}, {"setopt", FVM_BUILTIN_SETOPT},
    {"unsetopt", FVM_BUILTIN_UNSETOPT}, {"shopt", FVM_BUILTIN_SHOPT},
    {"emulate", FVM_BUILTIN_EMULATE}, {"getopts", FVM_BUILTIN_GETOPTS},
    {"autoload", FVM_BUILTIN_AUTOLOAD}, {"functions", FVM_BUILTIN_FUNCTIONS},
    {"unfunction", FVM_BUILTIN_UNFUNCTION}, {"trap", FVM_BUILTIN_TRAP},
    {"pushd", FVM_BUILTIN_PUSHD}, {"popd", FVM_BUILTIN_POPD}, {"dirs", FVM_BUILTIN_DIRS},
    {"type", FVM_BUILTIN_TYPE}, {"whence", FVM_BUILTIN_WHENCE}, {"where", FVM_BUILTIN_WHERE},
    {"which", FVM_BUILTIN_WHICH}, {"hash", FVM_BUILTIN_HASH}, {"rehash", FVM_BUILTIN_REHASH},
    {"unhash", FVM_BUILTIN_UNHASH}, {"compgen", FVM_BUILTIN_COMPGEN},
    {"complete", FVM_BUILTIN_COMPLETE}, {"compopt", FVM_BUILTIN_COMPOPT},
    {"compadd", FVM_BUILTIN_COMPADD}, {"compset", FVM_BUILTIN_COMPSET},
    {"compdef", FVM_BUILTIN_COMPDEF}, {"compinit", FVM_BUILTIN_COMPINIT},
    {"cdreplay", FVM_BUILTIN_CDREPLAY}, {"zstyle", FVM_BUILTIN_ZSTYLE},
    {"zmodload", FVM_BUILTIN_ZMODLOAD}, {"bindkey", FVM_BUILTIN_BINDKEY},
    {"bind", FVM_BUILTIN_BINDKEY}, {"zle", FVM_BUILTIN_ZLE}, {"vared", FVM_BUILTIN_VARED},
    {"zcompile", FVM_BUILTIN_ZCOMPILE}, {"zformat", FVM_BUILTIN_ZFORMAT},
    {"zparseopts", FVM_BUILTIN_ZPARSEOPTS}, {"zregexparse", FVM_BUILTIN_ZREGEXPARSE},
    {"ulimit", FVM_BUILTIN_ULIMIT}, {"limit", FVM_BUILTIN_LIMIT},
    {"unlimit", FVM_BUILTIN_UNLIMIT}, {"umask", FVM_BUILTIN_UMASK},
    {"times", FVM_BUILTIN_TIMES}, {"caller", FVM_BUILTIN_CALLER}, {"help", FVM_BUILTIN_HELP},
    {"enable", FVM_BUILTIN_ENABLE}, {"disable", FVM_BUILTIN_DISABLE},
    {"noglob", FVM_BUILTIN_NOGLOB}, {"ttyctl", FVM_BUILTIN_TTYCTL}, {"sync", FVM_BUILTIN_SYNC},
    {"mkdir", FVM_BUILTIN_MKDIR}, {"strftime", FVM_BUILTIN_STRFTIME},
    {"zsleep", FVM_BUILTIN_ZSLEEP}, {"zsystem", FVM_BUILTIN_ZSYSTEM},
    {"pcre_compile", FVM_BUILTIN_PCRE_COMPILE}, {"pcre_match", FVM_BUILTIN_PCRE_MATCH},
    {"pcre_study", FVM_BUILTIN_PCRE_STUDY}, {"ztie", FVM_BUILTIN_ZTIE},
    {"zuntie", FVM_BUILTIN_ZUNTIE}, {"zgdbmpath", FVM_BUILTIN_ZGDBMPATH},
    {"promptinit", FVM_BUILTIN_PROMPTINIT}, {"prompt", FVM_BUILTIN_PROMPT},
    {"async", FVM_BUILTIN_ASYNC}, {"await", FVM_BUILTIN_AWAIT}, {"pmap", FVM_BUILTIN_PMAP},
    {"pgrep", FVM_BUILTIN_PGREP}, {"peach", FVM_BUILTIN_PEACH},
    {"barrier", FVM_BUILTIN_BARRIER}, {"intercept", FVM_BUILTIN_INTERCEPT},
    {"intercept_proceed", FVM_BUILTIN_INTERCEPT_PROCEED}, {"doctor", FVM_BUILTIN_DOCTOR},
    {"dbview", FVM_BUILTIN_DBVIEW}, {"profile", FVM_BUILTIN_PROFILE},
    {"zprof", FVM_BUILTIN_ZPROF}, {"cat", FVM_BUILTIN_CAT}, {"head", FVM_BUILTIN_HEAD},
    {"tail", FVM_BUILTIN_TAIL}, {"wc", FVM_BUILTIN_WC}, {"basename", FVM_BUILTIN_BASENAME},
    {"dirname", FVM_BUILTIN_DIRNAME}, {"touch", FVM_BUILTIN_TOUCH},
    {"realpath", FVM_BUILTIN_REALPATH}, {"sort", FVM_BUILTIN_SORT}, {"find", FVM_BUILTIN_FIND},
    {"uniq", FVM_BUILTIN_UNIQ}, {"cut", FVM_BUILTIN_CUT}, {"tr", FVM_BUILTIN_TR},
    {"seq", FVM_BUILTIN_SEQ}, {"rev", FVM_BUILTIN_REV}, {"tee", FVM_BUILTIN_TEE},
    {"sleep", FVM_BUILTIN_SLEEP}, {"whoami", FVM_BUILTIN_WHOAMI}, {"id", FVM_BUILTIN_ID},
    {"hostname", FVM_BUILTIN_HOSTNAME}, {"uname", FVM_BUILTIN_UNAME},
    {"date", FVM_BUILTIN_DATE}, {"mktemp", FVM_BUILTIN_MKTEMP},
};

#define NNAMES (sizeof builtin_names / sizeof *builtin_names)

int fvm_shell_builtin_id(const char *name, size_t len)
{
    for (size_t i = 0; i < NNAMES; i++) {
        if (strlen(builtin_names[i].name) == len && memcmp(builtin_names[i].name, name, len) == 0)
            return builtin_names[i].id;
    }
    return -1;
}

const char *fvm_shell_builtin_name(unsigned id)
{
    for (size_t i = 0; i < NNAMES; i++) {
        if (builtin_names[i].id == id)
            return builtin_names[i].name;
    }
    return NULL;
}
