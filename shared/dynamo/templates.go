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
	defer s.templates.drop(tid + "/" + t.Name)
	if _, err := s.put(ctx, templateItem{PK: templateKey(tid, t.Name), SK: skTemplate, Template: t}, ""); err != nil {
		return fmt.Errorf("put template: %w", err)
	}
	return nil
}

// GetTemplate returns a tenant's override of a template (a copy), cached,
// with its absence, for TemplateCacheTTL. It returns ENotFound when the
// tenant has none (the default applies).
func (s *Store) GetTemplate(ctx context.Context, tid, name string) (*templates.Template, error) {
	now := s.now()
	k := tid + "/" + name
	t, ok := s.templates.get(k, now)
	if !ok {
		var it templateItem
		found, err := s.get(ctx, templateKey(tid, name), skTemplate, &it)
		if err != nil {
			return nil, fmt.Errorf("get template: %w", err)
		}
		if found {
			t = &it.Template
		}
		s.templates.put(k, t, now.Add(TemplateCacheTTL))
	}
	if t == nil {
		return nil, latchkey.Errorf(latchkey.ENotFound, "No template override.")
	}
	c := *t
	return &c, nil
}

var _ templates.Store = (*Store)(nil)
