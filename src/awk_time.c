/* AWK time builtins: systime, strftime, mktime.
 *
 * Upstream formats with the chrono crate, not C's strftime, and this file
 * reproduces chrono's conversions rather than calling the C library's
 * (whose output depends on LC_TIME): English names, chrono's padding
 * modifiers (%-d, %_d, %0e), %f and %.f/%.3f/%.6f/%.9f/%3f/%6f/%9f
 * fractions, %z/%:z/%::z/%:::z offsets, %+ (RFC 3339), %q (quarter), and
 * %Z printing "UTC" in UTC but the numeric offset ("+01:00") in local
 * time, since chrono knows no zone abbreviations. A conversion chrono
 * rejects (an unknown one, %#z, a padding modifier on a non-numeric or
 * composite conversion, a lone % at the end) makes the result "" (upstream
 * panics there).
 *
 * Dates are proleptic Gregorian over chrono's range, years -262143 to
 * 262142. Local time comes from the C library's time zone (TZ). */
#include "awk.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "unicode.h"

#define MIN_YEAR (-262143)
#define MAX_YEAR 262142
#define SECS_PER_DAY 86400

double fvm_awk_systime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t fvm_awk_clock_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec ^ (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------
 * Calendar arithmetic (days since 1970-01-01, proleptic Gregorian) */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* 0 = Sunday. 1970-01-01 was a Thursday. */
static int weekday_of(int64_t days)
{
    return (int)floor_mod(days + 4, 7);
}

/* ------------------------------------------------------------------------
 * Broken-down time */

typedef struct when {
    int64_t year;
    int month, day, hour, minute, second;
    uint32_t nsec;
    int wday;    /* 0 = Sunday */
    int ordinal; /* day of the year, 1-based */
    int64_t timestamp;
    int32_t offset; /* seconds east of UTC */
    bool utc;
} when;

static bool day_in_range(int64_t days)
{
    return days >= days_from_civil(MIN_YEAR, 1, 1) && days <= days_from_civil(MAX_YEAR, 12, 31);
}

/* The local offset at t from the C library, or false. */
static bool local_offset(int64_t t, int32_t *offset)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!localtime_r(&tt, &tm))
        return false;
    *offset = (int32_t)tm.tm_gmtoff;
    return true;
}

/* Break secs + nsec down in UTC or local time; false when out of range. */
static bool break_down(int64_t secs, uint32_t nsec, bool utc, when *w)
{
    if (!day_in_range(floor_div(secs, SECS_PER_DAY)))
        return false;
    w->offset = 0;
    if (!utc && !local_offset(secs, &w->offset))
        return false;
    int64_t local = secs + w->offset;
    int64_t days = floor_div(local, SECS_PER_DAY), sod = local - days * SECS_PER_DAY;
    civil_from_days(days, &w->year, &w->month, &w->day);
    w->hour = (int)(sod / 3600);
    w->minute = (int)(sod / 60 % 60);
    w->second = (int)(sod % 60);
    w->nsec = nsec;
    w->wday = weekday_of(days);
    w->ordinal = (int)(days - days_from_civil(w->year, 1, 1) + 1);
    w->timestamp = secs;
    w->utc = utc;
    return true;
}

/* ISO 8601 week-numbering year and week. */
static int iso_weeks_in(int64_t y)
{
    int jan1 = weekday_of(days_from_civil(y, 1, 1));
    return jan1 == 4 || (jan1 == 3 && is_leap(y)) ? 53 : 52;
}

static void iso_week(const when *w, int64_t *year, int *week)
{
    int from_monday = (w->wday + 6) % 7 + 1; /* 1..7 */
    *year = w->year;
    *week = (w->ordinal - from_monday + 10) / 7;
    if (*week < 1) {
        *year = w->year - 1;
        *week = iso_weeks_in(*year);
    } else if (*week > iso_weeks_in(w->year)) {
        *year = w->year + 1;
        *week = 1;
    }
}

/* ------------------------------------------------------------------------
 * Formatting, as chrono's */

typedef enum pad { PAD_NONE, PAD_ZERO, PAD_SPACE } pad;

static const char *const weekday_names[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                            "Thursday", "Friday", "Saturday"};
static const char *const month_names[] = {"January", "February", "March",     "April",
                                          "May",     "June",     "July",      "August",
                                          "September", "October", "November", "December"};

/* A number in a field of `width` (sign included); `sign` forces a '+'. */
static void put_n(fvm_buf *b, int width, int64_t v, pad p, bool sign)
{
    char digits[24];
    size_t nd = 0;
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[nd++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag);
    char sign_char = v < 0 ? '-' : sign ? '+' : 0;
    int len = (int)nd + (sign_char ? 1 : 0);
    for (int k = len; p == PAD_SPACE && k < width; k++)
        fvm_buf_putc(b, ' ');
    if (sign_char)
        fvm_buf_putc(b, sign_char);
    for (int k = len; p == PAD_ZERO && k < width; k++)
        fvm_buf_putc(b, '0');
    while (nd > 0)
        fvm_buf_putc(b, digits[--nd]);
}

/* chrono's two-digit field. The value is narrowed to 8 bits first, as
 * chrono does (which only matters for %C of negative years). */
static void put_two(fvm_buf *b, int64_t value, pad p)
{
    uint8_t v = (uint8_t)value;
    if (v / 10 != 0 || p == PAD_ZERO)
        fvm_buf_putc(b, (char)('0' + v / 10));
    else if (p == PAD_SPACE)
        fvm_buf_putc(b, ' ');
    fvm_buf_putc(b, (char)('0' + v % 10));
}

/* Years outside 0..9999 carry an explicit sign. */
static void put_year(fvm_buf *b, int64_t y, pad p)
{
    if (y >= 1000 && y <= 9999)
        put_n(b, 4, y, PAD_ZERO, false);
    else
        put_n(b, y >= 0 && y < 10000 ? 4 : 5, y, p, !(y >= 0 && y < 10000));
}

/* The numeric conversion c; false if c is not one. */
static bool put_numeric(fvm_buf *b, const when *w, char c, pad p)
{
    int64_t iso_year = 0;
    int week = 0;
    if (c == 'G' || c == 'g' || c == 'V')
        iso_week(w, &iso_year, &week);
    switch (c) {
    case 'Y': put_year(b, w->year, p); break;
    case 'C': put_two(b, floor_div(w->year, 100), p); break;
    case 'y': put_two(b, floor_mod(w->year, 100), p); break;
    case 'G': put_year(b, iso_year, p); break;
    case 'g': put_two(b, floor_mod(iso_year, 100), p); break;
    case 'm': put_two(b, w->month, p); break;
    case 'd': case 'e': put_two(b, w->day, p); break;
    case 'U': put_two(b, (w->ordinal - w->wday + 6) / 7, p); break;
    case 'W': put_two(b, (w->ordinal - (w->wday + 6) % 7 + 6) / 7, p); break;
    case 'V': put_two(b, week, p); break;
    case 'j': put_n(b, 3, w->ordinal, p, false); break;
    case 'H': case 'k': put_two(b, w->hour, p); break;
    case 'I': case 'l': put_two(b, (w->hour + 11) % 12 + 1, p); break;
    case 'M': put_two(b, w->minute, p); break;
    case 'S': put_two(b, w->second, p); break;
    case 'f': put_n(b, 9, w->nsec, p, false); break;
    case 's': put_n(b, 9, w->timestamp, p, false); break;
    case 'u': fvm_buf_putc(b, (char)('0' + (w->wday + 6) % 7 + 1)); break;
    case 'w': fvm_buf_putc(b, (char)('0' + w->wday)); break;
    case 'q': fvm_buf_putc(b, (char)('0' + (w->month - 1) / 3 + 1)); break;
    default: return false;
    }
    return true;
}

/* The default padding of each numeric conversion. */
static pad default_pad(char c)
{
    if (c == 'e' || c == 'k' || c == 'l')
        return PAD_SPACE;
    return c == 's' || c == 'u' || c == 'w' || c == 'q' ? PAD_NONE : PAD_ZERO;
}

typedef enum offset_style { OFF_HOURS, OFF_MINUTES, OFF_SECONDS } offset_style;

static void put_offset(fvm_buf *b, int32_t offset, offset_style style, bool colons)
{
    int64_t off = offset < 0 ? -(int64_t)offset : offset;
    int64_t hours, mins = 0, secs = 0;
    if (style == OFF_HOURS) {
        hours = off / 3600;
    } else if (style == OFF_MINUTES) { /* seconds round to the nearest minute */
        hours = (off + 30) / 60 / 60;
        mins = (off + 30) / 60 % 60;
    } else {
        hours = off / 3600;
        mins = off / 60 % 60;
        secs = off % 60;
    }
    fvm_buf_putc(b, offset < 0 ? '-' : '+');
    put_two(b, hours, PAD_ZERO);
    if (style != OFF_HOURS) {
        if (colons)
            fvm_buf_putc(b, ':');
        put_two(b, mins, PAD_ZERO);
    }
    if (style == OFF_SECONDS) {
        if (colons)
            fvm_buf_putc(b, ':');
        put_two(b, secs, PAD_ZERO);
    }
}

/* %Z: chrono prints the zone's Display form, "UTC" or the offset. */
static void put_zone_name(fvm_buf *b, const when *w)
{
    if (w->utc) {
        fvm_buf_puts(b, "UTC");
        return;
    }
    put_offset(b, w->offset, w->offset % 60 ? OFF_SECONDS : OFF_MINUTES, true);
}

/* The fraction: digits 3, 6 or 9, or 0 for the shortest of those that is
 * exact (nothing at all when the fraction is zero). */
static void put_fraction(fvm_buf *b, uint32_t nsec, int digits, bool dot)
{
    if (digits == 0) {
        if (nsec == 0)
            return;
        digits = nsec % 1000000 == 0 ? 3 : nsec % 1000 == 0 ? 6 : 9;
    }
    if (dot)
        fvm_buf_putc(b, '.');
    uint32_t scaled = digits == 3 ? nsec / 1000000 : digits == 6 ? nsec / 1000 : nsec;
    put_n(b, digits, scaled, PAD_ZERO, false);
}

static bool format_items(fvm_buf *b, const when *w, const char *f, size_t n);

/* %+ : %Y-%m-%dT%H:%M:%S%.f%:z, the year always 4 digits or signed. */
static void put_rfc3339(fvm_buf *b, const when *w)
{
    if (w->year >= 0 && w->year <= 9999)
        put_n(b, 4, w->year, PAD_ZERO, false);
    else
        put_n(b, 5, w->year, PAD_ZERO, true);
    static const char rest[] = "-%m-%dT%H:%M:%S";
    format_items(b, w, rest, sizeof rest - 1);
    put_fraction(b, w->nsec, 0, true);
    put_offset(b, w->offset, OFF_MINUTES, true);
}

/* The conversions that expand to several items. */
static const char *composite(char c)
{
    switch (c) {
    case 'D': case 'x': return "%m/%d/%y";
    case 'F': return "%Y-%m-%d";
    case 'R': return "%H:%M";
    case 'T': case 'X': return "%H:%M:%S";
    case 'r': return "%I:%M:%S %p";
    case 'c': return "%a %b %e %H:%M:%S %Y";
    case 'v': return "%e-%b-%Y";
    default: return NULL;
    }
}

/* A non-numeric, single conversion; false if c is not one. */
static bool put_fixed(fvm_buf *b, const when *w, char c)
{
    switch (c) {
    case 'A': fvm_buf_puts(b, weekday_names[w->wday]); break;
    case 'a': fvm_buf_put(b, weekday_names[w->wday], 3); break;
    case 'B': fvm_buf_puts(b, month_names[w->month - 1]); break;
    case 'b': case 'h': fvm_buf_put(b, month_names[w->month - 1], 3); break;
    case 'P': fvm_buf_puts(b, w->hour < 12 ? "am" : "pm"); break;
    case 'p': fvm_buf_puts(b, w->hour < 12 ? "AM" : "PM"); break;
    case 'Z': put_zone_name(b, w); break;
    case 'z': put_offset(b, w->offset, OFF_MINUTES, false); break;
    case '+': put_rfc3339(b, w); break;
    case 'n': fvm_buf_putc(b, '\n'); break;
    case 't': fvm_buf_putc(b, '\t'); break;
    case '%': fvm_buf_putc(b, '%'); break;
    default: return false;
    }
    return true;
}

/* The conversions spelled with more than one character after the
 * modifiers (%:z %::z %:::z %.f %.3f %3f ...) at f[*i]; false if the text
 * there is none of them. */
static bool put_long_form(fvm_buf *b, const when *w, const char *f, size_t n, size_t *i)
{
    const char *s = f + *i;
    size_t left = n - *i;
    static const struct {
        const char *text;
        int kind; /* > 0: fraction digits (with 10 added: no dot); < 0: offset style */
    } forms[] = {{":::z", -1}, {"::z", -3}, {":z", -2}, {".3f", 3}, {".6f", 6}, {".9f", 9},
                 {".f", 0},    {"3f", 13},  {"6f", 16}, {"9f", 19}};
    for (size_t k = 0; k < sizeof forms / sizeof *forms; k++) {
        size_t len = strlen(forms[k].text);
        if (left < len || memcmp(s, forms[k].text, len) != 0)
            continue;
        int kind = forms[k].kind;
        if (kind == -1)
            put_offset(b, w->offset, OFF_HOURS, false);
        else if (kind < 0)
            put_offset(b, w->offset, kind == -3 ? OFF_SECONDS : OFF_MINUTES, true);
        else
            put_fraction(b, w->nsec, kind % 10, kind < 10);
        *i += len;
        return true;
    }
    return false;
}

/* One conversion at f[*i] (just past the '%'); false if invalid. */
static bool format_conversion(fvm_buf *b, const when *w, const char *f, size_t n, size_t *i)
{
    if (*i == n)
        return false;
    bool has_pad = f[*i] == '-' || f[*i] == '0' || f[*i] == '_';
    pad p = PAD_NONE;
    if (has_pad) {
        p = f[*i] == '0' ? PAD_ZERO : f[*i] == '_' ? PAD_SPACE : PAD_NONE;
        if (++*i == n)
            return false;
    }
    char c = f[*i];
    if (put_numeric(b, w, c, has_pad ? p : default_pad(c))) {
        ++*i;
        return true;
    }
    if (has_pad) /* padding applies to numeric conversions only */
        return false;
    const char *expansion = composite(c);
    if (expansion) {
        ++*i;
        return format_items(b, w, expansion, strlen(expansion));
    }
    if (put_fixed(b, w, c)) {
        ++*i;
        return true;
    }
    return put_long_form(b, w, f, n, i);
}

static bool format_items(fvm_buf *b, const when *w, const char *f, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *pct = memchr(f + i, '%', n - i);
        size_t lit = pct ? (size_t)(pct - (f + i)) : n - i;
        fvm_buf_put(b, f + i, lit);
        i += lit;
        if (i < n) {
            i++;
            if (!format_conversion(b, w, f, n, &i))
                return false;
        }
    }
    return true;
}

fvm_value fvm_awk_strftime(const char *fmt, size_t n, double ts, bool utc)
{
    /* Upstream: secs = floor(ts) saturating, nsec = the rounded rest. */
    int64_t secs = fvm_float_to_int(floor(ts));
    double frac = round((ts - (double)secs) * 1e9);
    uint32_t nsec = !(frac > 0) ? 0 : frac >= 999999999.0 ? 999999999u : (uint32_t)frac;
    if (!utc)
        tzset();
    when w;
    fvm_buf b = {0};
    bool ok = break_down(secs, nsec, utc, &w) && format_items(&b, &w, fmt, n);
    fvm_value out = ok ? fvm_str(b.data ? b.data : "", b.len) : fvm_str("", 0);
    fvm_buf_free(&b);
    return out;
}

/* ------------------------------------------------------------------------
 * mktime */

/* The whole of s[0..n) as [sign] digits within [lo, hi]; '-' only when
 * lo < 0 (Rust's parse for i32 and u32). */
static bool parse_field(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (s[0] == '+' || (s[0] == '-' && lo < 0)))
        neg = s[i++] == '-';
    if (i == n)
        return false;
    int64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
        if (v > hi + 1) /* past either bound: stop before overflowing */
            return false;
    }
    v = neg ? -v : v;
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Split s[0..n) on Unicode white space into up to 6 fields; returns how
 * many were found (capped at 6, further fields are ignored). */
static int split_fields(const char *s, size_t n, const char *start[6], size_t len[6])
{
    int count = 0;
    size_t i = 0, clen;
    while (i < n && count < 6) {
        while (i < n && fvm_unicode_is_space(fvm_utf8_decode(s + i, n - i, &clen)))
            i += clen;
        if (i == n)
            break;
        start[count] = s + i;
        while (i < n && !fvm_unicode_is_space(fvm_utf8_decode(s + i, n - i, &clen)))
            i += clen;
        len[count] = (size_t)(s + i - start[count]);
        count++;
    }
    return count;
}

/* The instant whose local time is `local` (seconds of a naive date-time),
 * if exactly one exists: a time skipped or repeated by a clock change has
 * none or two. The offsets in force a day either side cover every
 * transition a real zone makes near it. */
static bool resolve_local(int64_t local, int64_t *out)
{
    int found = 0;
    int64_t first = 0;
    for (int k = -1; k <= 1; k++) {
        int32_t guess, actual;
        if (!local_offset(local + k * SECS_PER_DAY, &guess))
            return false;
        int64_t t = local - guess;
        if (!local_offset(t, &actual) || actual != guess || (found && t == first))
            continue;
        if (found++ == 0)
            first = t;
    }
    *out = first;
    return found == 1;
}

double fvm_awk_mktime(const char *spec, size_t n, bool utc)
{
    const char *start[6];
    size_t len[6];
    if (split_fields(spec, n, start, len) < 6)
        return -1;
    int64_t v[6];
    for (int k = 0; k < 6; k++)
        if (!parse_field(start[k], len[k], k == 0 ? INT32_MIN : 0, k == 0 ? INT32_MAX : UINT32_MAX,
                         &v[k]))
            return -1;
    /* Out-of-range fields are rejected, not normalised. */
    if (v[0] < MIN_YEAR || v[0] > MAX_YEAR || v[1] < 1 || v[1] > 12 ||
        v[2] < 1 || v[2] > days_in_month(v[0], (int)v[1]) || v[3] > 23 || v[4] > 59 || v[5] > 59)
        return -1;
    int64_t local = days_from_civil(v[0], (int)v[1], (int)v[2]) * SECS_PER_DAY + v[3] * 3600 +
                    v[4] * 60 + v[5];
    if (utc)
        return (double)local;
    tzset();
    int64_t t;
    return resolve_local(local, &t) ? (double)t : -1;
}
