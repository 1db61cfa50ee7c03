// pq-console opens a PgBouncer console with lib/pq through database/sql, as pgbouncer_exporter does, runs
// the statements it is given in order on that one connection, and prints what each returned as JSON.
//
// It stands in for the exporter's database side where the exporter itself cannot be built: the driver at
// the version the exporter pins, the same connection string, the same statements, the same API (a
// database/sql Query without arguments, as collector.go's does at v0.10.2). PgBouncer's console refuses the
// extended protocol; lib/pq v1.10.9 sends a query without arguments as a simple query (conn.go, conn.query:
// `if len(args) == 0 { return cn.simpleQuery(query) }`), and database/sql hands it to the driver's
// QueryContext without preparing it first. The connection string comes from PQ_CONSOLE_CONNECTION_STRING,
// never argv, so its password does not show in a process listing.
//
//	PQ_CONSOLE_CONNECTION_STRING='postgres://…/pgbouncer?sslmode=verify-full&…' pq-console 'SHOW STATS' 'SHOW POOLS;'
//
// Exit status: 0 once every statement was tried (a failed one is in the JSON, not the status), 2 on
// wrong usage.
package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/lib/pq"
)

const envVar = "PQ_CONSOLE_CONNECTION_STRING"

// result is one statement's outcome: its columns and rows, or the driver's error.
type result struct {
	Query   string      `json:"query"`
	OK      bool        `json:"ok"`
	Columns []string    `json:"columns,omitempty"`
	Rows    [][]*string `json:"rows,omitempty"`
	Error   string      `json:"error,omitempty"`
	// The SQLSTATE of a server error (pq.Error); empty for a client-side one such as a TLS failure.
	SQLState string `json:"sqlstate,omitempty"`
}

type report struct {
	// The lib/pq module version linked into this binary, from its build information.
	Driver  string   `json:"driver"`
	Results []result `json:"results"`
}

func main() {
	dsn := os.Getenv(envVar)
	if dsn == "" || len(os.Args) < 2 {
		fmt.Fprintf(os.Stderr, "usage: %s='postgres://…' pq-console STATEMENT...\n", envVar)
		os.Exit(2)
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		// sql.Open only fails for an unknown driver name: lib/pq's Driver has no OpenConnector at v1.10.9,
		// so the string is parsed when the first statement connects, and its errors show there.
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer db.Close()
	// One connection, kept: every statement runs on the same session, as the exporter's scrapes do.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)

	out := report{Driver: driverVersion()}
	for _, q := range os.Args[1:] {
		out.Results = append(out.Results, run(db, q))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(db *sql.DB, query string) result {
	rows, err := db.Query(query)
	if err != nil {
		return failed(query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return failed(query, err)
	}
	res := result{Query: query, Columns: cols}
	for rows.Next() {
		// NullString takes every column type the console sends as text, and NULL as nil.
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return failed(query, err)
		}
		row := make([]*string, len(cols))
		for i, v := range vals {
			if v.Valid {
				s := v.String
				row[i] = &s
			}
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return failed(query, err)
	}
	res.OK = true
	return res
}

func failed(query string, err error) result {
	r := result{Query: query, Error: err.Error()}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		r.SQLState = string(pqErr.Code)
	}
	return r
}

func driverVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == "github.com/lib/pq" {
			return dep.Path + " " + dep.Version
		}
	}
	return "unknown"
}
