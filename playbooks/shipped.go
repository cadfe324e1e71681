package playbooks

import "embed"

// Shipped holds the playbooks nightowl ships, for the demo and for
// installing a starting set next to the catalog.
//
//go:embed *.yml tasks/*.yml
var Shipped embed.FS
