/* import.h - CSV import and export of the district's master data.
 *
 * The back-ends of `nuanyang import` and `nuanyang export`. Seven kinds of
 * UTF-8 CSV file with a header row are exchanged, each with a fixed set of
 * columns (listed here in the order export writes them):
 *   units        code,name,level,parent_code
 *   groups       platform,external_id,kind,unit_code,name,members,target
 *   staff        account,name,phone,role,unit_code,department
 *   households   code,grid_code,address,size,phone
 *   enterprises  uscc,name,industry,grid_code
 *   policies     code,title,category,audience,department,summary,eligibility,
 *                how_to_apply,keywords
 *   lexicon      term,kind,intent,category,weight,action
 * Both go through store.h only, so they work on either engine. Every error
 * message has the form "FILE:LINE: column: reason" (column omitted where a
 * whole record or file is at fault), e.g.
 * "units.csv:7: parent_code: unknown parent unit '411571009000'". */
#ifndef NY_IMPORT_H
#define NY_IMPORT_H

#include "err.h"
#include "store.h"

/* The kind names, NULL-terminated: units groups staff households enterprises
 * policies lexicon. */
extern const char *const import_kinds[];

/* Imports the CSV file at path ("-" = standard input) as rows of kind. The
 * header row must name exactly the kind's columns, in any order. Every row is
 * checked (enumerations, unit codes against their parents, credit codes,
 * numbers and ranges, lengths in characters, duplicates within the file and
 * against the database, references to units) and the whole file is written
 * in one transaction: on any error nothing is written. Units may list
 * children before their parents. On success *rows_out is the number of rows
 * written. Returns NY_OK; NY_EINVAL for bad input, NY_ENOTFOUND for an
 * unknown referenced unit, NY_EEXIST for a key the database already has,
 * NY_ERR for I/O failures; storage errors are passed on. s must not be inside
 * a transaction of the caller's. */
int import_csv(store *s, const char *kind, const char *path, long *rows_out, ny_err *e);

/* Exports every row of kind as CSV, header first, to path ("-" = standard
 * output). Phone numbers are masked (138****5678) unless full_phones is set;
 * with full_phones, importing the file into an empty database and exporting
 * again reproduces it byte for byte. A file is written to a temporary name
 * beside path (created readable by the owner only, as it may hold personal
 * data) and renamed over path only when complete, so a failed export leaves
 * no partial file. On success *rows_out is the number of rows written.
 * Returns NY_OK, NY_EINVAL for an unknown kind, NY_ERR for I/O failures;
 * storage errors are passed on. */
int export_csv(store *s, const char *kind, const char *path, int full_phones, long *rows_out,
               ny_err *e);

#endif
