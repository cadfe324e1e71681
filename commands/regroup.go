package commands

import (
	"context"
	"fmt"
	"strings"
)

// isRegroup reports whether a /diag INC-… word asks to merge or split.
func isRegroup(word string) bool {
	w := strings.ToLower(word)
	return w == "merge" || w == "split"
}

// regroup answers /diag INC-A merge [into] INC-B and /diag INC-A split
// <service>, for incidents whose cards do not offer each other: it checks
// the words and that the incidents exist, and hands the act to the bot
// (Reply.Regroup), which does what the card's menus do. Whether the
// Grouper agrees (both open, the service one of several) it says then.
func (h *Handler) regroup(ctx context.Context, r Request, args []string) (Reply, error) {
	in, _, err := h.findIncident(ctx, args[0])
	if err != nil {
		return Reply{}, err
	}
	rest := args[2:]
	if strings.EqualFold(args[1], "split") {
		if len(rest) != 1 {
			return Reply{}, usage("Say one service, e.g. /diag "+in.ID+" split "+exampleNode(in.Nodes())+".",
				"/diag %s split takes one service of %s's alerts.", in.ID, in.ID)
		}
		rg := &Regroup{Split: true, Incident: in.ID, Service: rest[0], By: r.User}
		who := h.d.Names(ctx, r.User)
		l := line(textf("✂️ %s splits ", who), code(rest[0]), textf(" off %s into a new incident, which pages on its own.", in.ID))
		summary := fmt.Sprintf("%s splits %s off %s into a new incident.", who, rest[0], in.ID)
		return Reply{Summary: summary, Blocks: []Block{{Lines: []Line{l}}}, Regroup: rg}, nil
	}
	if len(rest) > 0 && strings.EqualFold(rest[0], "into") {
		rest = rest[1:]
	}
	if len(rest) != 1 || !isIncidentID(rest[0]) {
		return Reply{}, usage("Say /diag "+in.ID+" merge INC-…: "+in.ID+"'s alerts move into that incident.",
			"/diag %s merge takes one incident to merge it into.", in.ID)
	}
	into, _, err := h.findIncident(ctx, rest[0])
	if err != nil {
		return Reply{}, err
	}
	rg := &Regroup{Incident: in.ID, Into: into.ID, By: r.User}
	l := line(textf("↪️ %s merges %s into %s; nobody is paged.", h.d.Names(ctx, r.User), in.ID, into.ID))
	return Reply{Summary: l[0].Text, Blocks: []Block{{Lines: []Line{l}}}, Regroup: rg}, nil
}

// exampleNode is one of nodes, for a hint.
func exampleNode(nodes []string) string {
	if len(nodes) == 0 {
		return "<service>"
	}
	return nodes[0]
}
