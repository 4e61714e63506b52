/*
 * The screen model: slot panels, header counts, ledger tail, message line,
 * all updated by the UI thread from queued events.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ui/model.h"
#include "station/pipeline/advice.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"

const char *
ui_slot_state_name(enum ui_slot_state s)
{
	switch (s) {
	case UI_SLOT_RUNNING:
		return "running";
	case UI_SLOT_PASS:
		return "PASS";
	case UI_SLOT_FAIL:
		return "FAIL";
	case UI_SLOT_IDLE:
		break;
	}
	return "idle";
}

void
ui_copy(char *dst, size_t size, const char *src)
{
	if (size == 0)
		return;
	if (src == NULL)
		src = "";
	if (dst == src)
		return;
	size_t n = strnlen(src, size - 1);

	memmove(dst, src, n);
	dst[n] = '\0';
}

void
ui_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, size, fmt, ap);
	va_end(ap);
}

void
ui_model_init(struct ui_model *m, size_t n_slots, uint64_t now_ms)
{
	memset(m, 0, sizeof *m);
	if (n_slots == 0)
		n_slots = 1;
	m->slots = xcalloc(n_slots, sizeof *m->slots);
	m->n_slots = n_slots;
	for (size_t i = 0; i < n_slots; i++) {
		m->slots[i].index = (unsigned)i + 1;
		ui_fmt(m->slots[i].label, sizeof m->slots[i].label, "S%zu",
		    i + 1);
	}
	m->started_ms = now_ms;
	m->armed_slot = -1;
	ui_copy(m->broker, sizeof m->broker, "no broker");
}

void
ui_model_free(struct ui_model *m)
{
	if (m == NULL)
		return;
	free(m->devices);
	free(m->slots);
	memset(m, 0, sizeof *m);
}

void
ui_model_set_slot(struct ui_model *m, size_t i, unsigned index,
    const char *label, const char *device, const char *profile)
{
	struct ui_slot *s;

	if (i >= m->n_slots)
		return;
	s = &m->slots[i];
	s->index = index;
	ui_copy(s->label, sizeof s->label, label);
	ui_copy(s->device, sizeof s->device, device);
	ui_copy(s->profile, sizeof s->profile, profile);
}

long
ui_model_slot_pos(const struct ui_model *m, int index)
{
	for (size_t i = 0; i < m->n_slots; i++) {
		if ((int)m->slots[i].index == index)
			return (long)i;
	}
	return -1;
}

long
ui_model_slot_by_label(const struct ui_model *m, const char *label)
{
	for (size_t i = 0; i < m->n_slots; i++) {
		if (m->slots[i].label[0] != '\0' &&
		    strcasecmp(m->slots[i].label, label) == 0)
			return (long)i;
	}
	return -1;
}

long
ui_model_next_free(const struct ui_model *m)
{
	for (size_t i = 0; i < m->n_slots; i++) {
		if (m->slots[i].state != UI_SLOT_RUNNING)
			return (long)i;
	}
	return -1;
}

void
ui_model_message(struct ui_model *m, int bad, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->message, sizeof m->message, fmt, ap);
	va_end(ap);
	m->message_bad = bad;
}

void
ui_model_slot_started(struct ui_model *m, size_t i, const char *serial,
    uint64_t now_ms)
{
	struct ui_slot *s;

	if (i >= m->n_slots)
		return;
	s = &m->slots[i];
	ui_copy(s->serial, sizeof s->serial, serial);
	s->reported[0] = '\0';
	s->state = UI_SLOT_RUNNING;
	s->has_step = 0;
	s->progress = 0;
	s->started_ms = now_ms;
	s->ended_ms = 0;
	s->run_id = 0;
	s->headline[0] = '\0';
	s->reason[0] = '\0';
	s->next[0] = '\0';
	s->no_smoke = 0;
	s->already[0] = '\0';
	s->step_deadline_ms = 0;
	s->abort_asked = 0;
}

static struct ui_device *
find_device(const struct ui_model *m, const char *serial)
{
	for (size_t i = 0; i < m->n_devices; i++) {
		if (strcmp(m->devices[i].serial, serial) == 0)
			return &m->devices[i];
	}
	return NULL;
}

/* A run of `serial` ended: the device counts once, and a PASS at any of
 * its runs makes it a PASSed device for good. */
static void
count_device(struct ui_model *m, const char *serial, int pass)
{
	struct ui_device *d;

	m->runs++;
	if (serial[0] == '\0') {
		/* no serial scanned or reported: a device of its own */
		m->anonymous_passed += pass != 0;
		m->anonymous_failed += pass == 0;
	} else {
		d = find_device(m, serial);
		if (d == NULL) {
			m->devices = xrealloc(m->devices,
			    (m->n_devices + 1) * sizeof *m->devices);
			d = &m->devices[m->n_devices++];
			ui_copy(d->serial, sizeof d->serial, serial);
			d->passed = 0;
		}
		if (pass)
			d->passed = 1;
	}
	m->passed = m->anonymous_passed;
	m->failed = m->anonymous_failed;
	for (size_t i = 0; i < m->n_devices; i++) {
		if (m->devices[i].passed)
			m->passed++;
		else
			m->failed++;
	}
}

static void
ledger_line_for(struct ui_model *m, const struct ui_slot *s)
{
	char line[UI_TEXT_MAX];

	if (s->state == UI_SLOT_PASS && s->already[0] != '\0')
		ui_fmt(line, sizeof line, "#%" PRId64 " %-4s %-20s %s",
		    s->run_id, s->label, s->serial[0] ? s->serial : "-",
		    s->already);
	else if (s->state == UI_SLOT_PASS)
		ui_fmt(line, sizeof line, "#%" PRId64 " %-4s %-20s PASS%s",
		    s->run_id, s->label, s->serial[0] ? s->serial : "-",
		    s->no_smoke ? " (no smoke test)" : "");
	else
		ui_fmt(line, sizeof line,
		    "#%" PRId64 " %-4s %-20s FAIL at %s: %s", s->run_id,
		    s->label, s->serial[0] ? s->serial : "-",
		    s->has_step ? step_name(s->step) : "?", s->headline);
	ui_model_ledger_push(m, line);
}

/* "ALREADY PASS (run 12, 2026-12-07 11:02)", the time in UTC. */
static void
already_text(struct ui_slot *s, const struct ui_event *ev)
{
	char when[21];

	clock_iso8601_utc(when, ev->already_at / 1000);
	when[10] = ' ';
	when[16] = '\0'; /* minutes are enough to recognise it */
	ui_fmt(s->already, sizeof s->already,
	    "ALREADY PASS (run %" PRId64 ", %s)", ev->already_run, when);
}

static void
run_end(struct ui_model *m, struct ui_slot *s, const struct ui_event *ev,
    uint64_t now_ms)
{
	s->ended_ms = now_ms;
	s->step_deadline_ms = 0;
	count_device(m, s->reported[0] ? s->reported : s->serial, ev->pass);
	if (ev->pass) {
		s->progress = 100;
		s->state = UI_SLOT_PASS;
		s->has_step = 0;
		s->no_smoke = ev->no_smoke;
		if (ev->already_run > 0)
			already_text(s, ev);
		ui_model_message(m, 0, "%s: %s %s", s->label, s->serial,
		    s->already[0]   ? s->already :
			s->no_smoke ? "PASS (no smoke test)" :
				      "PASS");
	} else {
		s->state = UI_SLOT_FAIL;
		if (ev->step < STEP__COUNT) {
			s->step = ev->step;
			s->has_step = 1;
		}
		ui_copy(s->headline, sizeof s->headline,
		    advice_headline(s->step, ev->err));
		ui_copy(s->next, sizeof s->next,
		    advice_next_step(s->step, ev->err));
		if (ev->text != NULL)
			ui_copy(s->reason, sizeof s->reason, ev->text);
		m->bells++;
		ui_model_message(m, 1, "%s: %s FAIL: %s", s->label,
		    s->serial[0] ? s->serial : "-", s->headline);
	}
	ledger_line_for(m, s);
}

/* The hotplug and lone-scan EVENT_INFOs; notes change nothing. */
static void
device_info(struct ui_model *m, struct ui_slot *s, const struct ui_event *ev,
    uint64_t now_ms)
{
	switch (ev->info) {
	case EVENT_INFO_ROUTED:
		if (ev->serial == NULL)
			break;
		/* comes before the run's first event (line.h) */
		ui_model_slot_started(m, (size_t)(s - m->slots), ev->serial,
		    now_ms);
		s->device_note[0] = '\0';
		ui_model_message(m, 0, "%s: %s started", s->label, s->serial);
		break;
	case EVENT_INFO_WAITING:
		ui_copy(s->device_note, sizeof s->device_note,
		    event_info_text(ev->info));
		break;
	case EVENT_INFO_REMOVED:
		ui_copy(s->device_note, sizeof s->device_note,
		    event_info_text(ev->info));
		if (s->state == UI_SLOT_RUNNING)
			ui_model_message(m, 1,
			    "%s: device removed during the "
			    "run",
			    s->label);
		break;
	case EVENT_INFO_NOTE:
	case EVENT_INFO_REFUSED:
		break;
	}
}

void
ui_model_apply(struct ui_model *m, const struct ui_event *ev, uint64_t now_ms)
{
	long pos = ui_model_slot_pos(m, ev->slot);
	struct ui_slot *s;

	/* about the line, not a slot: a refused lone scan (line.h) */
	if (ev->kind == EVENT_INFO && ev->info == EVENT_INFO_REFUSED) {
		if (ev->text != NULL)
			ui_model_message(m, ev->err != ST_OK, "%s", ev->text);
		return;
	}
	if (pos < 0)
		return;
	s = &m->slots[pos];
	if (ev->run_id != 0)
		s->run_id = ev->run_id;
	if (ev->serial != NULL && ev->kind != EVENT_INFO)
		ui_copy(s->reported, sizeof s->reported, ev->serial);
	switch (ev->kind) {
	case EVENT_RUN_START:
		/* Not started by a scan here (a board plugged in): no
		 * scanned serial; the device's own shows once known. */
		if (s->state != UI_SLOT_RUNNING)
			ui_model_slot_started(m, (size_t)pos, "", now_ms);
		s->run_id = ev->run_id;
		s->device_note[0] = '\0';
		break;
	case EVENT_STEP_START:
		s->step_deadline_ms = ev->deadline_ms;
		/* fall through */
	case EVENT_STEP_OK:
		s->state = UI_SLOT_RUNNING;
		s->step = ev->step;
		s->has_step = 1;
		if (ev->progress >= 0 && ev->progress <= 100)
			s->progress = ev->progress;
		break;
	case EVENT_STEP_FAIL:
		s->step = ev->step;
		s->has_step = 1;
		if (ev->text != NULL)
			ui_copy(s->reason, sizeof s->reason, ev->text);
		break;
	case EVENT_INFO:
		device_info(m, s, ev, now_ms);
		break;
	case EVENT_RUN_END:
		run_end(m, s, ev, now_ms);
		break;
	}
	/* a run without a scanned serial shows the one the device reports */
	if (s->serial[0] == '\0' && ev->serial != NULL)
		ui_copy(s->serial, sizeof s->serial, ev->serial);
}

/* 1 while running on a slot, 2 once PASSed this session, else 0. */
int
ui_model_serial_taken(const struct ui_model *m, const char *serial)
{
	const struct ui_device *d;

	for (size_t i = 0; i < m->n_slots; i++) {
		if (m->slots[i].state == UI_SLOT_RUNNING &&
		    strcmp(m->slots[i].serial, serial) == 0)
			return 1;
	}
	d = find_device(m, serial);
	if (d != NULL && d->passed)
		return 2;
	return 0;
}

size_t
ui_model_running(const struct ui_model *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_slots; i++)
		n += m->slots[i].state == UI_SLOT_RUNNING;
	return n;
}

void
ui_model_ledger_push(struct ui_model *m, const char *line)
{
	size_t keep =
	    m->n_ledger < UI_LEDGER_LINES ? m->n_ledger : UI_LEDGER_LINES - 1;

	memmove(&m->ledger[1], &m->ledger[0], keep * sizeof m->ledger[0]);
	ui_copy(m->ledger[0], sizeof m->ledger[0], line);
	m->n_ledger = keep + 1;
}

void
ui_model_ledger_append(struct ui_model *m, const char *line)
{
	if (m->n_ledger >= UI_LEDGER_LINES)
		return;
	ui_copy(m->ledger[m->n_ledger], sizeof m->ledger[0], line);
	m->n_ledger++;
}

unsigned
ui_model_yield(const struct ui_model *m)
{
	unsigned done = m->passed + m->failed;

	if (done == 0)
		return 0;
	return (unsigned)((m->passed * 100u + done / 2) / done);
}

unsigned
ui_model_per_hour(const struct ui_model *m, uint64_t now_ms)
{
	uint64_t span = now_ms > m->started_ms ? now_ms - m->started_ms : 0;
	uint64_t done = (uint64_t)m->passed + m->failed;

	/* devices finished per hour, as the yield counts them */
	if (span < 60000)
		return 0;
	return (unsigned)(done * 3600000u / span);
}

unsigned
ui_slot_elapsed_s(const struct ui_slot *s, uint64_t now_ms)
{
	uint64_t end = s->ended_ms ? s->ended_ms : now_ms;

	if (s->started_ms == 0 || end < s->started_ms)
		return 0;
	return (unsigned)((end - s->started_ms) / 1000);
}

int
ui_slot_countdown_s(const struct ui_slot *s, uint64_t now_ms)
{
	if (s->state != UI_SLOT_RUNNING || s->step_deadline_ms == 0)
		return -1;
	if (s->step_deadline_ms <= now_ms)
		return 0;
	return (int)((s->step_deadline_ms - now_ms + 999) / 1000);
}
