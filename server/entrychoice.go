package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/memlens/memlens/runner"
)

// errNoEntryChosen ends a profile whose entry question was dismissed.
var errNoEntryChosen = errors.New("no entry chosen")

// cancelTitle is the question's way out.
const cancelTitle = "Cancel"

// askEntry is a Go run's Request.ChooseEntry: when the entry search finds
// several ways to run the function (the tests of several packages, a main
// package) or only a main package, which may never end by itself, the user
// picks one with window/showMessageRequest. The choice is remembered for
// the function for the session (Clear forgets it, and so does a run it no
// longer reaches, see runJob; the entries setting overrides it), so the
// question comes once.
func (s *Server) askEntry(ctx context.Context, j *job, options []runner.EntryOption) (int, error) {
	titles := entryTitles(options)
	actions := make([]protocol.MessageActionItem, 0, len(titles)+1)
	for _, t := range titles {
		actions = append(actions, protocol.MessageActionItem{Title: t})
	}
	actions = append(actions, protocol.MessageActionItem{Title: cancelTitle})
	j.stage.Store(runner.Stage("waiting for a choice of entry:"))
	item, err := s.client.ShowMessageRequest(ctx, &protocol.ShowMessageRequestParams{
		Type:    protocol.MessageTypeInfo,
		Message: entryQuestion(j.key.name, options),
		Actions: actions,
	})
	j.stage.Store(runner.StageBuilding)
	if err != nil {
		if ctx.Err() != nil {
			return 0, errNoEntryChosen // canceled while asking
		}
		// A client that cannot answer (no window/showMessageRequest): the
		// first of several test entries runs, as on the command line; a
		// program never starts unasked.
		s.log.Warn("window/showMessageRequest failed", "error", err)
		if options[0].Kind == runner.EntryTests {
			return 0, nil
		}
		return 0, fmt.Errorf("only a program runs %s, and this editor cannot be asked whether to start it (%v): "+
			`name it in the "entries" setting, e.g. {"%s": {"run": "./path/to/cmd", "args": []}}`, j.key.name, err, j.key.name)
	}
	if item == nil {
		return 0, errNoEntryChosen
	}
	for i, t := range titles {
		if item.Title == t {
			s.mu.Lock()
			s.entryChoices[j.key] = options[i]
			s.generation++ // the lens names the choice
			s.mu.Unlock()
			return i, nil
		}
	}
	return 0, errNoEntryChosen // Cancel, or a title not offered
}

// entryTitles are the options' menu titles, distinct.
func entryTitles(options []runner.EntryOption) []string {
	titles := make([]string, len(options))
	seen := map[string]int{}
	for i, o := range options {
		titles[i] = o.Label()
		seen[titles[i]]++
	}
	for i, o := range options {
		if seen[titles[i]] > 1 {
			titles[i] = o.Describe // two packages with the same last element
		}
	}
	return titles
}

// entryQuestion says why the user is asked.
func entryQuestion(name string, options []runner.EntryOption) string {
	var tests, mains []string
	for _, o := range options {
		if o.Kind == runner.EntryMain {
			mains = append(mains, o.Package)
		} else {
			tests = append(tests, o.Package)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "memlens: no test of its own package reaches %s", name)
	switch {
	case len(tests) > 1:
		fmt.Fprintf(&b, "; the tests of %s do", strings.Join(tests, ", "))
	case len(tests) == 1:
		fmt.Fprintf(&b, "; the tests of %s do", tests[0])
	}
	switch {
	case len(mains) > 0 && len(tests) > 0:
		fmt.Fprintf(&b, ", and so does the program %s", strings.Join(mains, ", "))
	case len(mains) > 0:
		fmt.Fprintf(&b, "; the program %s does", strings.Join(mains, ", "))
	}
	b.WriteString(". Which should run it?")
	if len(mains) > 0 {
		fmt.Fprintf(&b, " A program runs until it ends, without arguments; the \"entries\" setting gives it some: "+
			`{"%s": {"run": "./path/to/cmd", "args": ["..."]}}.`, name)
	}
	b.WriteString(" The choice is kept for this function until Clear.")
	return b.String()
}

// entryChoiceLocked is the entry chosen for the function, if any.
func (s *Server) entryChoiceLocked(key runKey) (runner.EntryOption, bool) {
	o, ok := s.entryChoices[key]
	return o, ok
}
