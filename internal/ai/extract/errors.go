package extract

import "fmt"

// errorf wraps a sentinel with a message: errors.Is(err, sentinel) holds.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), sentinel)
}
