// Package web is Cairn's operations dashboard: a Gin application mounted
// on the node's HTTP listener (next to /metrics) that shows the
// deployment and drives day-to-day operations.
//
// The dashboard is a Redis client of its own node. Signing in opens a
// connection pool authenticated as the signed-in user (AUTH user pass),
// and every page and every action is the same command a redis-cli user
// would send (INFO, CLUSTER SHARDS, SCAN, FUNCTION LOAD, FCALL, FT.SEARCH,
// BACKUP CREATE, REGION PROMOTE, ...), so the dashboard can never do more
// than that user could. The package knows nothing of the storage: its
// only dependency on the node is the Dialer it is given.
//
// Pages are rendered on the server as plain HTML tables (they work
// without JavaScript); the embedded script refreshes them and sends the
// actions to the JSON API under /api/ (documented in API.md). Assets are
// embedded with go:embed: nothing is fetched from outside at run time.
package web
