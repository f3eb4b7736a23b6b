/* The version's three places agree: FVM_VERSION_STRING and FVM_VERSION_NUM
 * in the public header and VERSION in the Makefile (compiled in as
 * FVM_MAKEFILE_VERSION), and fvm_version() returns the header's string. */
#include <criterion/criterion.h>

#include <fusevm.h>

#include <stdio.h>
#include <string.h>

#ifndef FVM_MAKEFILE_VERSION
#error "build the unit tests through the Makefile, which defines FVM_MAKEFILE_VERSION"
#endif

/* "MAJOR.MINOR.PATCH" as major * 10000 + minor * 100 + patch, or -1 when
 * the text is not three numbers that fit that encoding. */
static long version_num(const char *text)
{
    unsigned major, minor, patch;
    int end = 0;
    if (sscanf(text, "%u.%u.%u%n", &major, &minor, &patch, &end) != 3 || text[end] != '\0')
        return -1;
    if (minor > 99 || patch > 99)
        return -1;
    return (long)major * 10000 + minor * 100 + patch;
}

Test(version, number_matches_string)
{
    cr_assert_eq(version_num(FVM_VERSION_STRING), FVM_VERSION_NUM,
                 "FVM_VERSION_NUM is %ld, but FVM_VERSION_STRING \"%s\" makes %ld",
                 (long)FVM_VERSION_NUM, FVM_VERSION_STRING, version_num(FVM_VERSION_STRING));
}

Test(version, header_matches_makefile)
{
    cr_assert_str_eq(FVM_VERSION_STRING, FVM_MAKEFILE_VERSION,
                     "include/fusevm.h says %s, the Makefile's VERSION %s", FVM_VERSION_STRING,
                     FVM_MAKEFILE_VERSION);
}

Test(version, library_reports_header_version)
{
    cr_assert_str_eq(fvm_version(), FVM_VERSION_STRING);
}

Test(version, encoding)
{
    cr_assert_eq(version_num("0.1.0"), 100);
    cr_assert_eq(version_num("1.2.3"), 10203);
    cr_assert_eq(version_num("10.0.99"), 100099);
    cr_assert_eq(version_num("1.100.0"), -1);
    cr_assert_eq(version_num("1.2"), -1);
    cr_assert_eq(version_num("1.2.3-rc1"), -1);
}
