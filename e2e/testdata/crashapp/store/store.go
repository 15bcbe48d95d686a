// Package store is crashapp's subpackage.
package store

// DB is a store that crashes when it is nil.
type DB struct{ rows map[string]string }

// Get reads a row.
//
//go:noinline
func (db *DB) Get(key string) string {
	return db.rows[key]
}
