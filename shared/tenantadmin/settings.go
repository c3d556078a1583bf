package tenantadmin

import (
	"context"

	"github.com/latchkey/latchkey/shared/latchkey"
)

// GetSettings returns tenant tid's settings as stored. It returns ENotFound.
func (s *Service) GetSettings(ctx context.Context, tid string) (latchkey.Settings, error) {
	t, err := s.Store.ReadTenant(ctx, tid)
	if err != nil {
		return latchkey.Settings{}, err
	}
	return t.Settings, nil
}

// PutSettings replaces every setting of tenant tid with st, as admin actor,
// and returns the settings stored. Every setting is validated
// (tenancy.ValidateSettings) before anything is written; the change is
// audited as settings.update with the names of the settings that changed,
// and a refusal as a failure with its code. It returns EValidation naming
// each wrong setting, or ENotFound.
func (s *Service) PutSettings(ctx context.Context, tid, actor string, st latchkey.Settings) (latchkey.Settings, error) {
	t, err := s.Settings.UpdateSettings(ctx, tid, actor, "", func(cur *latchkey.Settings) { *cur = st })
	if err != nil {
		if code := latchkey.ErrorCode(err); code != latchkey.EInternal {
			s.Store.Audit(ctx, latchkey.Event(tid, actor, tid, latchkey.ActionSettingsUpdate, latchkey.ResultFailure, code))
		}
		return latchkey.Settings{}, err
	}
	return t.Settings, nil
}
