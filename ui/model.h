/*
 * The operator screen's model: what the screen shows, as plain data.
 *
 * Slot threads never touch the model: their events go through a ui_queue
 * (queue.h) and the UI thread applies them here, so the model needs no
 * lock and every function is a pure update that unit tests can drive with
 * event sequences.  Rendering (screen.c) only reads it.
 *
 * Times are monotonic milliseconds passed in by the caller (`now_ms`), so
 * tests control the clock.
 */
#ifndef UI_MODEL_H
#define UI_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "station/pipeline/event.h"

struct scan_format;

#define UI_TEXT_MAX 256
#define UI_NAME_MAX 72	  /* serials (64), labels, ids */
#define UI_LEDGER_LINES 8 /* ledger tail kept for the screen */

enum ui_slot_state {
	UI_SLOT_IDLE = 0,
	UI_SLOT_RUNNING,
	UI_SLOT_PASS,
	UI_SLOT_FAIL,
};

/* "idle", "running", "PASS", "FAIL". */
const char *ui_slot_state_name(enum ui_slot_state s);

struct ui_slot {
	unsigned index;		  /* fixture slot number (>= 1) */
	char label[UI_NAME_MAX];  /* slot barcode label */
	char device[UI_TEXT_MAX]; /* device URI */
	char profile[UI_NAME_MAX];
	/* the slot profile's label rule (scan_format.h), borrowed; NULL:
	 * labels are taken as scanned */
	const struct scan_format *label_format;
	char serial[UI_NAME_MAX]; /* scanned serial of the current run */
	/* the serial the device reported in this run ("" until HELLO): the
	 * device a yield counts, even when the label scanned was wrong */
	char reported[UI_NAME_MAX];
	enum ui_slot_state state;
	int has_step;	     /* step is meaningful */
	enum step step;	     /* current step, or the failed one */
	int progress;	     /* 0..100 */
	uint64_t started_ms; /* monotonic */
	uint64_t ended_ms;   /* 0 while running */
	int64_t run_id;
	char headline[UI_TEXT_MAX]; /* FAIL: operator headline */
	char reason[UI_TEXT_MAX];   /* FAIL: technical cause */
	char next[UI_TEXT_MAX];	    /* FAIL: the operator's next step */
	int no_smoke;		    /* PASS without the smoke test */
	/* "ALREADY PASS (run 12, 2026-12-07 11:02)": the board PASSed
	 * before (pipeline.h, already_run_id); "" otherwise */
	char already[UI_NAME_MAX];
	uint64_t step_deadline_ms; /* the running step's deadline
	                               (monotonic), 0: none known */
	int abort_asked;	   /* the operator asked to abort the run */
	/* Hotplug slots: "waiting for device" or "device removed" from the
	 * line's EVENT_INFO_WAITING and EVENT_INFO_REMOVED, "" once a run
	 * starts (or without hotplug). */
	char device_note[UI_NAME_MAX];
};

/* A copy of one station_event, owned by the queue that carries it. */
struct ui_event {
	enum event_kind kind;
	enum event_info info; /* EVENT_INFO only */
	int slot;
	int64_t run_id;
	enum step step;
	int progress;
	char *serial; /* owned, may be NULL */
	char *text;   /* owned, may be NULL */
	st_err err;
	int pass;
	int no_smoke;	      /* EVENT_RUN_END: PASS, smoke test skipped */
	int64_t already_run;  /* EVENT_RUN_END: ALREADY PASS, that run */
	int64_t already_at;   /* its end, unix ms */
	uint64_t deadline_ms; /* EVENT_STEP_START: the step's deadline */
};

/* A device seen this session: yield counts devices, not runs, so a board
 * that FAILs and then PASSes on a retry counts once, as a pass. */
struct ui_device {
	char serial[UI_NAME_MAX];
	int passed;
};

struct scan_format;

struct ui_model {
	/* header */
	char station_id[UI_NAME_MAX];
	char operator_id[UI_NAME_MAX];
	char batch[UI_NAME_MAX];
	char profiles[UI_TEXT_MAX]; /* "default" or "default, rsa" */
	char ca[UI_TEXT_MAX];	    /* CA backend description */
	char broker[UI_TEXT_MAX];   /* "host:port" or "no broker" */
	unsigned passed, failed;    /* devices: PASSed, not (yet) PASSed */
	unsigned runs;		    /* runs ended this session */
	uint64_t started_ms;	    /* when the screen opened */

	struct ui_slot *slots; /* owned, n_slots >= 1 */
	size_t n_slots;
	size_t selected;       /* index into slots */
	int require_slot_scan; /* serial scans wait for a slot label */
	const struct scan_format *format; /* label format (borrowed), NULL:
	                                     any serial */

	char pending_serial[UI_NAME_MAX]; /* "" when none */
	long armed_slot;		  /* slot label scanned first, or -1 */
	char message[UI_TEXT_MAX];
	int message_bad; /* shown highlighted */
	unsigned bells;	 /* FAILs not yet rung (the screen beeps) */

	/* newest first; ledger[0] is the latest run */
	char ledger[UI_LEDGER_LINES][UI_TEXT_MAX];
	size_t n_ledger;

	/* devices seen this session, by serial (a PASSed one is refused as
	 * a duplicate); a run without any serial counts as its own device */
	struct ui_device *devices;
	size_t n_devices;
	unsigned anonymous_passed, anonymous_failed; /* runs without any
	                                                serial (the device
	                                                never answered) */
};

/* Zero `m` and give it `n_slots` (>= 1) idle slots numbered 1..n. */
void ui_model_init(struct ui_model *m, size_t n_slots, uint64_t now_ms);
/* Free what the model owns; accepts NULL. */
void ui_model_free(struct ui_model *m);

/* Copy `src` into `dst` (size bytes), truncating; NULL copies "". */
void ui_copy(char *dst, size_t size, const char *src);
/* snprintf for screen text, where cutting a long line is intended. */
void ui_fmt(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Describe slot `i` (0-based); strings copied, NULL = "". */
void ui_model_set_slot(struct ui_model *m, size_t i, unsigned index,
    const char *label, const char *device, const char *profile);
/* 0-based position of the slot numbered `index`, or -1. */
long ui_model_slot_pos(const struct ui_model *m, int index);
/* 0-based position of the slot labelled `label` (any case, as a
 * scanner with Caps Lock types it), or -1. */
long ui_model_slot_by_label(const struct ui_model *m, const char *label);
/* First slot that is not running, or -1 when every slot is busy. */
long ui_model_next_free(const struct ui_model *m);

/* The message line (printf-like); `bad` highlights it. */
void ui_model_message(struct ui_model *m, int bad, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The UI submitted `serial` to slot position `i`: it shows as running at
 * once, before the slot thread's first event arrives. */
void ui_model_slot_started(struct ui_model *m, size_t i, const char *serial,
    uint64_t now_ms);

/* Apply one event from a slot thread. */
void ui_model_apply(struct ui_model *m, const struct ui_event *ev,
    uint64_t now_ms);

/* 1 if `serial` PASSed this session or runs on a slot now. */
int ui_model_serial_taken(const struct ui_model *m, const char *serial);
/* Number of slots running. */
size_t ui_model_running(const struct ui_model *m);

/* Add a line at the top of the ledger tail (older lines scroll off). */
void ui_model_ledger_push(struct ui_model *m, const char *line);
/* Add a line at the bottom (for loading the tail newest first). */
void ui_model_ledger_append(struct ui_model *m, const char *line);

/* Yield in percent of devices (0 when none finished): those that PASSed
 * (at their first run or a retry) over every device that ended a run;
 * devices per hour since
 * the screen opened (0 in the first minute, so the figure is not wild). */
unsigned ui_model_yield(const struct ui_model *m);
unsigned ui_model_per_hour(const struct ui_model *m, uint64_t now_ms);
/* Seconds the slot's run has taken (to now while running). */
unsigned ui_slot_elapsed_s(const struct ui_slot *s, uint64_t now_ms);
/* Seconds left before the running step's deadline (rounded up), or -1
 * when the slot is not running or no deadline is known. */
int ui_slot_countdown_s(const struct ui_slot *s, uint64_t now_ms);

#endif
