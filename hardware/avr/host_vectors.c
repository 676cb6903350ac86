/* Prints the test-vector lines with the firmware's own encoder, on the host. */
#include <stdio.h>

#include "../eco_sensor/eco_protocol.h"

int main(void) {
    char line[80];
    for (int i = 0; i < 8; i++) {
        eco_field fields[2] = {{"ppg", 500 + 3 * i}, {"gsr", 310 - i}};
        if (eco_format_line(line, sizeof line, (uint16_t)(100 + i), 5000u + 10u * (unsigned)i, fields, 2) < 0) return 1;
        fputs(line, stdout);
    }
    return 0;
}
