/*
 * The same sensor as ../eco_sensor/eco_sensor.ino, in plain C for an ATmega328P
 * at 16 MHz (Arduino Uno and Nano) with avr-libc, so that it builds and runs in CI
 * (avr-gcc, simavr) without the Arduino IDE.
 *
 * Build:  avr-gcc -mmcu=atmega328p -Os -DF_CPU=16000000UL -o eco_sensor.elf eco_sensor_avr.c
 * Flash:  avrdude -p m328p -c arduino -P /dev/ttyACM0 -U flash:w:eco_sensor.elf
 *
 * With -DECO_TEST_LINES=N it sends N lines of a fixed pattern instead of the
 * ADC readings (sequence from 100, time from 5000 ms in 10 ms steps, ppg 500+3i,
 * gsr 310-i) and stops: hardware/vectors/native_good.txt is exactly that.
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <stdint.h>

#include "../eco_sensor/eco_protocol.h"

static volatile uint32_t millis_now = 0;
static volatile uint8_t tick = 0;

ISR(TIMER1_COMPA_vect) {
    millis_now += 10;
    tick = 1;
}

static void uart_init(void) {
    UCSR0A = (1 << U2X0);  /* double speed: 115200 baud is 2.1 % off at 16 MHz */
    UBRR0H = 0;
    UBRR0L = 16;
    UCSR0B = (1 << TXEN0);
    UCSR0C = (1 << UCSZ01) | (1 << UCSZ00);
}

static void uart_write(const char *s) {
    while (*s) {
        while (!(UCSR0A & (1 << UDRE0))) {
        }
        UDR0 = (uint8_t)*s++;
    }
}

static uint16_t adc_read(uint8_t channel) {
    ADMUX = (1 << REFS0) | (channel & 7);  /* AVcc reference */
    ADCSRA |= (1 << ADSC);
    while (ADCSRA & (1 << ADSC)) {
    }
    return ADC;
}

int main(void) {
    char line[80];
    uint16_t seq = 0;
    uart_init();
    ADCSRA = (1 << ADEN) | (1 << ADPS2) | (1 << ADPS1) | (1 << ADPS0);  /* 125 kHz ADC clock */
    TCCR1A = 0;
    TCCR1B = (1 << WGM12) | (1 << CS11) | (1 << CS10);  /* CTC, clock / 64 */
    OCR1A = 2499;                                       /* 16 MHz / 64 / 2500 = 100 Hz */
    TIMSK1 = (1 << OCIE1A);
    sei();
#ifdef ECO_TEST_LINES
    for (int i = 0; i < ECO_TEST_LINES; i++) {
        eco_field fields[2] = {{"ppg", 500 + 3 * i}, {"gsr", 310 - i}};
        if (eco_format_line(line, sizeof line, (uint16_t)(100 + i), 5000u + 10u * (uint32_t)i, fields, 2) > 0) uart_write(line);
    }
    cli();
    sleep_cpu();  /* the simulator ends here */
#endif
    for (;;) {
        if (!tick) continue;
        tick = 0;
        eco_field fields[2] = {{"ppg", (int32_t)adc_read(0)}, {"gsr", (int32_t)adc_read(1)}};
        uint32_t now;
        cli();
        now = millis_now;
        sei();
        if (eco_format_line(line, sizeof line, seq++, now, fields, 2) > 0) uart_write(line);
    }
}
