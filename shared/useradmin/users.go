package useradmin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/tenancy"
)

// NewUser is one user of an import, as POST /users and the operator CLI
// give it.
type NewUser struct {
	Username string          `json:"username"`
	Email    string          `json:"email"`
	Mobile   string          `json:"mobile,omitempty"`
	Roles    []latchkey.Role `json:"roles,omitempty"`
	// PasswordExpiresOn is the day the password expires, YYYY-MM-DD.
	PasswordExpiresOn string   `json:"passwordExpiresOn,omitempty"`
	Permissions       []string `json:"permissions,omitempty"`
	Profiles          []string `json:"profiles,omitempty"`
	CompanyExceptions []string `json:"companyExceptions,omitempty"`
}

// ImportItem is the outcome of one user of an import: created with its id,
// or refused with the reason.
type ImportItem struct {
	Index    int        `json:"index"`
	Username string     `json:"username"`
	Status   string     `json:"status"`
	UserID   string     `json:"userId,omitempty"`
	Error    *ItemError `json:"error,omitempty"`
}

// ImportResult is the outcome of an import, item by item in the order given.
type ImportResult struct {
	Results []ImportItem `json:"results"`
	Created int          `json:"created"`
	Refused int          `json:"refused"`
}

// checkList checks a list of permissions, profiles or company exceptions.
func checkList(field string, l []string) error {
	if len(l) > maxListItems {
		return latchkey.Errorf(latchkey.EValidation, "%s: at most %d entries.", field, maxListItems)
	}
	for i, v := range l {
		if strings.TrimSpace(v) == "" || len(v) > maxItemBytes {
			return latchkey.Errorf(latchkey.EValidation, "%s[%d]: must be 1 to %d bytes, not blank.", field, i, maxItemBytes)
		}
	}
	return nil
}

// checkRoles checks a list of roles: known roles, at least one.
func checkRoles(roles []latchkey.Role) error {
	if len(roles) == 0 {
		return latchkey.Errorf(latchkey.EValidation, "roles: a user needs at least one role.")
	}
	for _, r := range roles {
		if !latchkey.ValidRole(r) {
			return latchkey.Errorf(latchkey.EValidation, "roles: unknown role %q (admin, agent or user).", string(r))
		}
	}
	return nil
}

// named prefixes the message of a coded error with the field it concerns
// (the domain validators' messages do not name it).
func named(field string, err error) error {
	return latchkey.Errorf(latchkey.ErrorCode(err), "%s: %s", field, latchkey.ErrorMessage(err))
}

// mobile parses a mobile number to E.164 ("" stays ""). It returns
// EValidation naming the field.
func (s *Service) mobile(field, m string) (string, error) {
	m = strings.TrimSpace(m)
	if m == "" {
		return "", nil
	}
	if err := latchkey.CheckLength(field, m, maxMobileBytes); err != nil {
		return "", err
	}
	if s.NormalizeMobile == nil {
		return "", fmt.Errorf("check %s: this function cannot parse mobile numbers (no NormalizeMobile)", field)
	}
	e164, err := s.NormalizeMobile(m)
	if err != nil {
		return "", named(field, err)
	}
	return e164, nil
}

// check validates one user of an import and returns it as tenancy creates
// it. It returns EValidation naming the field at fault.
func (s *Service) check(nu NewUser) (tenancy.NewUser, error) {
	username, err := latchkey.ValidateUsername(nu.Username)
	if err != nil {
		return tenancy.NewUser{}, named("username", err)
	}
	email, err := latchkey.ValidateEmail(nu.Email)
	if err != nil {
		return tenancy.NewUser{}, named("email", err)
	}
	mobile, err := s.mobile("mobile", nu.Mobile)
	if err != nil {
		return tenancy.NewUser{}, err
	}
	roles := nu.Roles
	if roles == nil {
		roles = []latchkey.Role{latchkey.RoleUser}
	}
	if err := checkRoles(roles); err != nil {
		return tenancy.NewUser{}, err
	}
	if nu.PasswordExpiresOn != "" {
		if _, err := latchkey.ValidateDate("passwordExpiresOn", nu.PasswordExpiresOn); err != nil {
			return tenancy.NewUser{}, err
		}
	}
	for _, l := range []struct {
		field string
		list  []string
	}{{"permissions", nu.Permissions}, {"profiles", nu.Profiles}, {"companyExceptions", nu.CompanyExceptions}} {
		if err := checkList(l.field, l.list); err != nil {
			return tenancy.NewUser{}, err
		}
	}
	return tenancy.NewUser{
		Username: username, Email: email, Mobile: mobile, Roles: slices.Compact(slices.Sorted(slices.Values(roles))),
		Permissions: nu.Permissions, Profiles: nu.Profiles, CompanyExceptions: nu.CompanyExceptions,
		PasswordExpiresOn: nu.PasswordExpiresOn,
	}, nil
}

// Import creates up to MaxBatch users of tenant tid as actorID, each with
// self-serve off, and e-mails each created user PASSWORD_EMAIL_NEW with a
// temporary password unless sendEmail is false (then no temporary password
// is made: the user gets one by forgot-password or a staff reset). Every
// item is checked first (username, a username given twice in the batch by
// its username key, e-mail, mobile parsed to E.164, roles, expiry day as a
// real YYYY-MM-DD day); then each valid one is created in one transaction
// of its own (user, username claim, temporary password, audit), so a
// refused or failed item writes nothing, and a username already taken is
// refused by that transaction's condition (username_taken). It answers an
// outcome per item in the order given. It returns EValidation for an empty
// batch or one over MaxBatch, and ENotFound for an unknown tenant.
func (s *Service) Import(ctx context.Context, tid, actorID string, users []NewUser, sendEmail bool) (*ImportResult, error) {
	if len(users) == 0 || len(users) > MaxBatch {
		return nil, latchkey.Errorf(latchkey.EValidation, "users: give 1 to %d users (got %d).", MaxBatch, len(users))
	}
	t, err := s.Store.GetTenant(ctx, tid)
	if err != nil {
		return nil, err
	}
	out := &ImportResult{Results: make([]ImportItem, len(users))}
	valid := make([]*tenancy.NewUser, len(users))
	firstRow := map[string]int{} // username key -> index of its first row
	for i, nu := range users {
		out.Results[i] = ImportItem{Index: i, Username: nu.Username}
		if len(nu.Username) > latchkey.MaxUsernameBytes {
			out.Results[i].Username = ""
		}
		tu, err := s.check(nu)
		if err != nil {
			out.Results[i].Status, out.Results[i].Error = StatusRefused, itemError(err)
			continue
		}
		k := latchkey.UsernameKey(tu.Username)
		if first, dup := firstRow[k]; dup {
			out.Results[i].Status = StatusRefused
			out.Results[i].Error = itemError(latchkey.Errorf(latchkey.EUsernameTaken, "username: the same username (or a look-alike) as item %d of this request.", first))
			continue
		}
		firstRow[k] = i
		tu.WithoutEmail = !sendEmail
		valid[i] = &tu
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				u, _, err := s.Users.CreateUser(ctx, t, actorID, *valid[i])
				if err != nil {
					if latchkey.ErrorCode(err) == latchkey.EInternal {
						reqctx.Logger(ctx).Error("import: create user failed", "tenant", tid, "index", i, "error", err)
					}
					out.Results[i].Status, out.Results[i].Error = StatusRefused, itemError(err)
					continue
				}
				out.Results[i].Status, out.Results[i].UserID = StatusCreated, u.ID
			}
		}()
	}
	for i := range valid {
		if valid[i] != nil {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	for _, r := range out.Results {
		if r.Status == StatusCreated {
			out.Created++
		} else {
			out.Refused++
		}
	}
	return out, nil
}

// UserPage is a page of the user list.
type UserPage struct {
	Users []latchkey.UserView `json:"users"`
	// NextCursor, present when more users may follow, gives the next page.
	NextCursor string `json:"nextCursor,omitempty"`
}

// cursor is what an opaque list cursor holds: the tenant it belongs to and
// the normalized username of the last user of the page before.
type cursor struct {
	Tenant string `json:"t"`
	After  string `json:"a"`
}

// maxCursorBytes bounds a cursor before it is decoded.
const maxCursorBytes = 512

func encodeCursor(tid, after string) string {
	b, _ := json.Marshal(cursor{Tenant: tid, After: after})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the position a cursor of tenant tid names ("" for
// none). A cursor that is malformed or another tenant's returns
// EValidation.
func decodeCursor(tid, c string) (string, error) {
	if c == "" {
		return "", nil
	}
	bad := latchkey.Errorf(latchkey.EValidation, "cursor: not a cursor of this list; start again without one.")
	if len(c) > maxCursorBytes {
		return "", bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", bad
	}
	var cur cursor
	if err := json.Unmarshal(raw, &cur); err != nil || cur.Tenant != tid || cur.After == "" {
		return "", bad
	}
	return cur.After, nil
}

// ListQuery is what a list asks for: a page of up to Limit users (1 to
// MaxPage, 0 for DefaultPage) after Cursor, that Filter selects.
type ListQuery struct {
	Cursor string
	Limit  int
	Filter latchkey.UserFilter
}

// List returns a page of tenant tid's users ordered by normalized username,
// with a cursor to the next page when more may follow. Registration status
// selects the users of one GSI2 partition; self-serve and locked are
// filters on that Query. It returns EValidation (a bad limit, status or
// cursor).
func (s *Service) List(ctx context.Context, tid string, q ListQuery) (*UserPage, error) {
	if q.Limit == 0 {
		q.Limit = DefaultPage
	}
	if q.Limit < 1 || q.Limit > MaxPage {
		return nil, latchkey.Errorf(latchkey.EValidation, "limit: must be 1 to %d.", MaxPage)
	}
	if st := q.Filter.RegistrationStatus; st != "" && !latchkey.ValidRegistrationStatus(st) {
		return nil, latchkey.Errorf(latchkey.EValidation, "registrationStatus: must be %s, %s or %s.",
			latchkey.RegistrationNotRegistered, latchkey.RegistrationComplete, latchkey.RegistrationAccessed)
	}
	after, err := decodeCursor(tid, q.Cursor)
	if err != nil {
		return nil, err
	}
	users, more, err := s.Store.ListUsers(ctx, tid, q.Filter, after, q.Limit)
	if err != nil {
		return nil, err
	}
	page := &UserPage{Users: make([]latchkey.UserView, 0, len(users))}
	for i := range users {
		page.Users = append(page.Users, users[i].View())
	}
	if more && len(users) > 0 {
		page.NextCursor = encodeCursor(tid, latchkey.NormalizeUsername(users[len(users)-1].Username))
	}
	return page, nil
}

// Get returns user uid of tenant tid, or ENotFound.
func (s *Service) Get(ctx context.Context, tid, uid string) (*latchkey.User, error) {
	return s.Store.GetUser(ctx, tid, uid)
}

// Patch is a change to a user: each field, when Set, replaces the user's
// value; a field Set to its zero value clears it (mobile, password expiry
// day, permissions, profiles, company exceptions; e-mail and roles cannot
// be cleared).
type Patch struct {
	Email             Field[string]
	Mobile            Field[string]
	PasswordExpiresOn Field[string]
	Roles             Field[[]latchkey.Role]
	Permissions       Field[[]string]
	Profiles          Field[[]string]
	CompanyExceptions Field[[]string]
}

// Field is one member of a PATCH body: absent (Set false), null or a
// value. JSON null and the zero value both clear.
type Field[T any] struct {
	Set   bool
	Value T
}

// UnmarshalJSON records that the member was given; null leaves Value zero.
func (f *Field[T]) UnmarshalJSON(b []byte) error {
	f.Set = true
	if string(b) == "null" {
		var zero T
		f.Value = zero
		return nil
	}
	return json.Unmarshal(b, &f.Value)
}

// apply returns u changed by p, checked. It returns EValidation naming the
// field at fault.
func (s *Service) apply(u latchkey.User, p Patch) (latchkey.User, error) {
	if p.Email.Set {
		email, err := latchkey.ValidateEmail(p.Email.Value)
		if err != nil {
			return u, named("email", err)
		}
		if email != u.Email {
			// A new address is not the one SES reported bouncing (the store
			// removes the marks with it).
			u.EmailBouncedAt, u.EmailComplainedAt = nil, nil
		}
		u.Email = email
	}
	if p.Mobile.Set {
		m, err := s.mobile("mobile", p.Mobile.Value)
		if err != nil {
			return u, err
		}
		u.Mobile = m
	}
	if p.PasswordExpiresOn.Set {
		u.PasswordExpiresOn = ""
		if p.PasswordExpiresOn.Value != "" {
			d, err := latchkey.ValidateDate("passwordExpiresOn", p.PasswordExpiresOn.Value)
			if err != nil {
				return u, err
			}
			u.PasswordExpiresOn = d
		}
	}
	if p.Roles.Set {
		if err := checkRoles(p.Roles.Value); err != nil {
			return u, err
		}
		u.Roles = slices.Compact(slices.Sorted(slices.Values(p.Roles.Value)))
	}
	for _, l := range []struct {
		field string
		f     Field[[]string]
		dst   *[]string
	}{{"permissions", p.Permissions, &u.Permissions}, {"profiles", p.Profiles, &u.Profiles}, {"companyExceptions", p.CompanyExceptions, &u.CompanyExceptions}} {
		if !l.f.Set {
			continue
		}
		if err := checkList(l.field, l.f.Value); err != nil {
			return u, err
		}
		*l.dst = nil
		if len(l.f.Value) > 0 {
			*l.dst = slices.Clone(l.f.Value)
		}
	}
	return u, nil
}

// conflictRetries is how often an edit is read and written again when the
// user changed between the read and the write.
const conflictRetries = 3

// Update applies p to user uid of tenant tid as admin actorID and returns
// the user as stored. The registration status follows the new e-mail and
// mobile. Taking the admin role from the tenant's last admin is refused
// (ELastAdmin), race-safely: the tenant's admin count changes in the same
// transaction. It returns ENotFound, EValidation naming the field,
// ELastAdmin or EConflict (the user kept changing meanwhile).
func (s *Service) Update(ctx context.Context, tid, actorID, uid string, p Patch) (*latchkey.User, error) {
	fail := func(err error) (*latchkey.User, error) {
		s.Store.Audit(ctx, latchkey.Event(tid, actorID, uid, latchkey.ActionUserUpdate, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return nil, err
	}
	for try := 0; ; try++ {
		u, err := s.Store.GetUser(ctx, tid, uid)
		if err != nil {
			return fail(err)
		}
		next, err := s.apply(*u, p)
		if err != nil {
			return fail(err)
		}
		ev := latchkey.Event(tid, actorID, uid, latchkey.ActionUserUpdate, latchkey.ResultSuccess, changed(u, &next))
		err = s.Store.UpdateUser(ctx, u, next, ev)
		if latchkey.ErrorCode(err) == latchkey.EConflict && try < conflictRetries {
			continue
		}
		if err != nil {
			return fail(err)
		}
		return &next, nil
	}
}

// changed names the fields an edit changes, for the audit log (never their
// values).
func changed(was, is *latchkey.User) string {
	var out []string
	for _, f := range []struct {
		name string
		diff bool
	}{
		{"email", was.Email != is.Email},
		{"mobile", was.Mobile != is.Mobile},
		{"passwordExpiresOn", was.PasswordExpiresOn != is.PasswordExpiresOn},
		{"roles", !slices.Equal(was.Roles, is.Roles)},
		{"permissions", !slices.Equal(was.Permissions, is.Permissions)},
		{"profiles", !slices.Equal(was.Profiles, is.Profiles)},
		{"companyExceptions", !slices.Equal(was.CompanyExceptions, is.CompanyExceptions)},
	} {
		if f.diff {
			out = append(out, f.name)
		}
	}
	return strings.Join(out, ",")
}

// SelfServeItem is the outcome of one user of a self-serve change.
type SelfServeItem struct {
	UserID string     `json:"userId"`
	Status string     `json:"status"`
	Error  *ItemError `json:"error,omitempty"`
}

// SelfServeResult is the outcome of a self-serve change, item by item.
type SelfServeResult struct {
	Results []SelfServeItem `json:"results"`
	Updated int             `json:"updated"`
	Refused int             `json:"refused"`
}

// SetSelfServe switches the self-serve of up to MaxBatch users of tenant
// tid on or off, as admin actorID, each with its own audit event, and
// answers per user (updated, or refused: not_found). While the tenant's
// override is off nothing changes and it returns
// ETenantSelfServiceDisabled; the override is checked again in each write,
// so a user is never switched after the override went off. It returns
// EValidation for an empty batch or one over MaxBatch.
func (s *Service) SetSelfServe(ctx context.Context, tid, actorID string, userIDs []string, on bool) (*SelfServeResult, error) {
	if len(userIDs) == 0 || len(userIDs) > MaxBatch {
		return nil, latchkey.Errorf(latchkey.EValidation, "userIds: give 1 to %d user ids (got %d).", MaxBatch, len(userIDs))
	}
	t, err := s.Store.GetTenant(ctx, tid)
	if err != nil {
		return nil, err
	}
	disabled := latchkey.Errorf(latchkey.ETenantSelfServiceDisabled, "Self-service is switched off for the whole tenant, so no user's switch can change.")
	if !t.Settings.SelfServe {
		s.Store.Audit(ctx, latchkey.Event(tid, actorID, tid, latchkey.ActionSelfServe, latchkey.ResultDenied, latchkey.ETenantSelfServiceDisabled))
		return nil, disabled
	}
	reason := map[bool]string{true: "on", false: "off"}[on]
	out := &SelfServeResult{Results: make([]SelfServeItem, len(userIDs))}
	var wg sync.WaitGroup
	var mu sync.Mutex
	off := false // the override went off during the batch
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				uid := userIDs[i]
				out.Results[i] = SelfServeItem{UserID: uid, Status: StatusUpdated}
				var err error
				if !latchkey.ValidID(uid) {
					err = latchkey.Errorf(latchkey.ENotFound, "User not found.")
				} else {
					err = s.Store.SetSelfServe(ctx, tid, uid, on, latchkey.Event(tid, actorID, uid, latchkey.ActionSelfServe, latchkey.ResultSuccess, reason))
				}
				if err != nil {
					if latchkey.ErrorCode(err) == latchkey.ETenantSelfServiceDisabled {
						mu.Lock()
						off = true
						mu.Unlock()
					}
					if latchkey.ErrorCode(err) == latchkey.EInternal {
						reqctx.Logger(ctx).Error("self-serve: write failed", "tenant", tid, "index", i, "error", err)
					}
					out.Results[i].Status, out.Results[i].Error = StatusRefused, itemError(err)
				}
			}
		}()
	}
	for i := range userIDs {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, r := range out.Results {
		if r.Status == StatusUpdated {
			out.Updated++
		} else {
			out.Refused++
		}
	}
	if off && out.Updated == 0 {
		return nil, disabled
	}
	return out, nil
}
