package diagnosis

import (
	"context"
	"time"
)

// RecordTimeout bounds one write to the record (the store): an incident's
// events, conversation and votes, a run request and its audit. Such writes
// outlive the context of whoever made them — a click answered, a shutdown
// begun — because what happened must stay on the record.
const RecordTimeout = 5 * time.Second

// Detached is the context for one write to the record: ctx's values
// without its cancellation, bounded by RecordTimeout.
func Detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), RecordTimeout)
}
