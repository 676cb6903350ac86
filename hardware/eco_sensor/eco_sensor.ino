/*
 * Eco-Symphony sensor: a pulse sensor (PPG) on A0 and a Grove GSR sensor on A1,
 * streamed at 100 Hz in the native protocol (../PROTOCOL.md) at 115200 baud.
 * Wiring: ../README.md. Open it in the Arduino IDE (eco_protocol.h sits beside it).
 */
#include "eco_protocol.h"

static const unsigned long PERIOD_MS = 10;  /* 100 lines a second */
static uint16_t seq = 0;
static unsigned long next_ms = 0;

void setup() {
    Serial.begin(115200);
    next_ms = millis();
}

void loop() {
    if ((long)(millis() - next_ms) < 0) return;
    next_ms += PERIOD_MS;
    eco_field fields[2] = {{"ppg", analogRead(A0)}, {"gsr", analogRead(A1)}};
    char line[80];
    if (eco_format_line(line, sizeof line, seq++, millis(), fields, 2) > 0) Serial.print(line);
}
