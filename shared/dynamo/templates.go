package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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
	t, ok := s.templates.get(tid+"/"+name, s.now())
	if !ok {
		return s.ReadTemplate(ctx, tid, name)
	}
	if t == nil {
		return nil, latchkey.Errorf(latchkey.ENotFound, "No template override.")
	}
	c := *t
	return &c, nil
}

// ReadTemplate is GetTemplate reading the table (a consistent read) instead
// of the cache, and caching what it read: what an admin is shown must be
// what is stored. It returns ENotFound when the tenant has no override.
func (s *Store) ReadTemplate(ctx context.Context, tid, name string) (*templates.Template, error) {
	now := s.now()
	var it templateItem
	found, err := s.get(ctx, templateKey(tid, name), skTemplate, &it)
	if err != nil {
		return nil, fmt.Errorf("get template: %w", err)
	}
	var t *templates.Template
	if found {
		t = &it.Template
	}
	s.templates.put(tid+"/"+name, t, now.Add(TemplateCacheTTL))
	if t == nil {
		return nil, latchkey.Errorf(latchkey.ENotFound, "No template override.")
	}
	c := *t
	return &c, nil
}

// DeleteTemplate deletes a tenant's override of a template, so that the
// default applies again, and drops it from this container's cache (other
// containers see the default within TemplateCacheTTL). It reports whether
// there was an override; deleting none is not an error.
func (s *Store) DeleteTemplate(ctx context.Context, tid, name string) (bool, error) {
	defer s.templates.drop(tid + "/" + name)
	res, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: key(templateKey(tid, name), skTemplate),
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return false, fmt.Errorf("delete template: %w", err)
	}
	return len(res.Attributes) > 0, nil
}

var _ templates.Store = (*Store)(nil)
