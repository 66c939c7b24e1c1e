package runner

import (
	"context"
	"errors"

	"github.com/memlens/memlens/profile"
)

// profileGo is being written (issue 2); this placeholder keeps the tree building.
func profileGo(ctx context.Context, req Request) (*profile.Result, error) {
	return nil, errors.New("go profiling: not yet implemented")
}
