package slackemu

import (
	"fmt"
	"math/rand/v2"
)

// verificationToken is the legacy token Slack puts in every payload.
const verificationToken = "emulatorverificationtoken"

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	mixedAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

func randString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}

// newUUID looks like Slack's envelope IDs and tickets.
func newUUID() string {
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x",
		rand.Uint32(), rand.Uint32()&0xffff, 0x4000|rand.Uint32()&0x0fff, 0x8000|rand.Uint32()&0x3fff, rand.Uint64()&0xffffffffffff)
}

func newEnvelopeID() string { return newUUID() }

func newEventID() string { return "Ev" + randString(upperAlnum, 10) }

func newFileID() string { return "F" + randString(upperAlnum, 10) }

// newShortID is what Slack fills in for a missing block_id or action_id.
func newShortID() string { return randString(mixedAlnum, 5) }

func newTriggerID() string {
	return fmt.Sprintf("%d.%d.%s", rand.Int64N(9e12)+1e12, rand.Int64N(9e12)+1e12, randString("0123456789abcdef", 32))
}
