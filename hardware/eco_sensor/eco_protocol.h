/*
 * Eco-Symphony native sensor protocol, version 1 (see ../PROTOCOL.md).
 *
 *   E1,<seq>,<t_ms>,<field>=<value>[,<field>=<value>...]*<hh>\r\n
 *
 * Header-only and free of printf, so that it builds the same for an AVR
 * (Arduino sketch, bare-metal firmware) and for the host tests.
 */
#ifndef ECO_PROTOCOL_H
#define ECO_PROTOCOL_H

#include <stdint.h>

typedef struct {
    const char *name;  /* "ppg", "gsr", "ppg2", ... */
    int32_t value;     /* raw ADC counts */
} eco_field;

/* Append a decimal number; returns the new length (or cap if it would not fit). */
static int eco_put_uint(char *out, int len, int cap, uint32_t v) {
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v && n < 10);
    while (n && len < cap) out[len++] = digits[--n];
    return n ? cap : len;
}

static int eco_put_int(char *out, int len, int cap, int32_t v) {
    if (v < 0) {
        if (len < cap) out[len++] = '-';
        return eco_put_uint(out, len, cap, (uint32_t)(-(v + 1)) + 1u);
    }
    return eco_put_uint(out, len, cap, (uint32_t)v);
}

static int eco_put_str(char *out, int len, int cap, const char *s) {
    while (*s && len < cap) out[len++] = *s++;
    return len;
}

/*
 * Format one line (with "\r\n" and a terminating NUL) into out[cap].
 * Returns its length without the NUL, or -1 if cap is too small.
 */
static int eco_format_line(char *out, int cap, uint16_t seq, uint32_t t_ms, const eco_field *fields, int count) {
    static const char hex[] = "0123456789ABCDEF";
    int len = 0, i;
    uint8_t checksum = 0;
    len = eco_put_str(out, len, cap, "E1,");
    len = eco_put_uint(out, len, cap, seq);
    len = eco_put_str(out, len, cap, ",");
    len = eco_put_uint(out, len, cap, t_ms);
    for (i = 0; i < count; i++) {
        len = eco_put_str(out, len, cap, ",");
        len = eco_put_str(out, len, cap, fields[i].name);
        len = eco_put_str(out, len, cap, "=");
        len = eco_put_int(out, len, cap, fields[i].value);
    }
    if (len + 6 > cap) return -1;
    for (i = 0; i < len; i++) checksum ^= (uint8_t)out[i];
    out[len++] = '*';
    out[len++] = hex[checksum >> 4];
    out[len++] = hex[checksum & 15];
    out[len++] = '\r';
    out[len++] = '\n';
    out[len] = '\0';
    return len;
}

#endif /* ECO_PROTOCOL_H */
