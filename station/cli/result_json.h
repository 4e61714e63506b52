/*
 * A run's result as command output: the object `station provision --json`
 * prints and batch mode's JSON-lines sink writes for each EVENT_RUN_END.
 */
#ifndef STATION_RESULT_JSON_H
#define STATION_RESULT_JSON_H

#include "station/pipeline/pipeline.h"

/* One JSON object (no newline) describing a result, caller frees. */
char *provision_result_json(const struct provision_result *res,
    const struct provision_request *req);

#endif
