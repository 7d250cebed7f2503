/* Where text came from: a line and column in a source file, and the bounds
 * on the names and paths that qsdc reads from one. The YAML reader
 * (yaml_doc.h) hands out these locations; the model (model.h) keeps one on
 * every element so later passes can report file:line:col. */
#ifndef QSDC_SOURCE_H
#define QSDC_SOURCE_H

#define QSDC_NAME_MAX 64
#define QSDC_PATH_MAX 1024

typedef struct src_loc {
    int line, col; /* 1-based; 0 when the element is implicit */
} src_loc;

#endif
