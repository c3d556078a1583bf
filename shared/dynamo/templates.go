package dynamo

import (
	"context"
	"fmt"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/templates"
)

type templateItem struct {
	PK, SK string
	templates.Template
}

// PutTemplate stores a tenant's override of a template. The caller validates it.
func (s *Store) PutTemplate(ctx context.Context, tid string, t templates.Template) error {
	if _, err := s.put(ctx, templateItem{PK: templateKey(tid, t.Name), SK: skTemplate, Template: t}, ""); err != nil {
		return fmt.Errorf("put template: %w", err)
	}
	return nil
}

// GetTemplate returns a tenant's override of a template. It returns
// ENotFound when the tenant has none (the default applies).
func (s *Store) GetTemplate(ctx context.Context, tid, name string) (*templates.Template, error) {
	var it templateItem
	ok, err := s.get(ctx, templateKey(tid, name), skTemplate, &it)
	if err != nil {
		return nil, fmt.Errorf("get template: %w", err)
	}
	if !ok {
		return nil, latchkey.Errorf(latchkey.ENotFound, "No template override.")
	}
	return &it.Template, nil
}

var _ templates.Store = (*Store)(nil)
