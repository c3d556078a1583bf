package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/schema"
)

// Store is Latchkey's storage on one DynamoDB table. Every read of an item
// with a TTL checks expiry against Now, because DynamoDB deletes expired items
// only eventually. The zero value is not usable: use New.
type Store struct {
	api   *dynamodb.Client
	table string
	now   latchkey.Clock
}

// New returns a Store on table, reading time from now.
func New(api *dynamodb.Client, table string, now latchkey.Clock) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{api: api, table: table, now: now}
}

// Table returns the table name.
func (s *Store) Table() string { return s.table }

// Keys. The tenant is in every key; see docs/data-model.md.
func tenantKey(tid string) string           { return "TENANT#" + tid }
func userKey(tid, uid string) string        { return "TENANT#" + tid + "#USER#" + uid }
func usernameKey(tid, norm string) string   { return "TENANT#" + tid + "#USERNAME#" + norm }
func challengeKey(tid, mac string) string   { return "TENANT#" + tid + "#CHALLENGE#" + mac }
func usersIndexKey(tid string) string       { return "TENANT#" + tid + "#USERS" }
func rateKey(tid, kind, subj string) string { return "TENANT#" + tid + "#RATE#" + kind + "#" + subj }
func templateKey(tid, name string) string   { return "TENANT#" + tid + "#TEMPLATE#" + name }
func auditKey(tid string) string            { return "TENANT#" + tid + "#AUDIT" }
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{schema.AttrPK: str(pk), schema.AttrSK: str(sk)}
}

const (
	skTenant     = "TENANT"
	skUser       = "USER"
	skUsername   = "USERNAME"
	skTempPW     = "TEMPPW"
	skChallenge  = "CHALLENGE"
	skFailures   = "LOGINFAILURES"
	skTemplate   = "TEMPLATE"
	tenantsIndex = "TENANTS"
)

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// isConditionFailed reports whether err is a failed condition of a single write.
func isConditionFailed(err error) bool {
	var c *types.ConditionalCheckFailedException
	return errors.As(err, &c)
}

// cancelReasons returns the cancellation codes of a failed transaction, one
// per item ("None", "ConditionalCheckFailed", ...), or nil for other errors.
func cancelReasons(err error) []string {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return nil
	}
	out := make([]string, len(tc.CancellationReasons))
	for i, r := range tc.CancellationReasons {
		out[i] = aws.ToString(r.Code)
	}
	return out
}

// transact runs a write transaction. When it is cancelled only because a
// concurrent transaction touched the same items (TransactionConflict), it is
// retried a few times, so the caller sees the conditions' verdict instead.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		_, err = s.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if !onlyConflicts(cancelReasons(err)) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(10*(attempt+1)) * time.Millisecond):
		}
	}
	return err
}

// onlyConflicts reports whether a cancelled transaction failed for
// TransactionConflict and no condition.
func onlyConflicts(reasons []string) bool {
	conflict := false
	for _, r := range reasons {
		switch r {
		case "TransactionConflict":
			conflict = true
		case "None", "":
		default:
			return false
		}
	}
	return conflict
}

func (s *Store) get(ctx context.Context, pk, sk string, out any) (bool, error) {
	res, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(pk, sk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, err
	}
	if res.Item == nil {
		return false, nil
	}
	return true, attributevalue.UnmarshalMap(res.Item, out)
}

func (s *Store) marshal(v any) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMap(v)
}

// ---- tenants ----

type tenantItem struct {
	PK, SK, GSI1PK, GSI1SK string
	latchkey.Tenant
}

// CreateTenant stores a new tenant. It returns ETenantExists when the id is taken.
func (s *Store) CreateTenant(ctx context.Context, t latchkey.Tenant) error {
	item, err := s.marshal(tenantItem{PK: tenantKey(t.ID), SK: skTenant, GSI1PK: tenantsIndex, GSI1SK: t.ID, Tenant: t})
	if err != nil {
		return fmt.Errorf("marshal tenant: %w", err)
	}
	_, err = s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(PK)"),
	})
	if isConditionFailed(err) {
		return latchkey.Errorf(latchkey.ETenantExists, "Tenant %q already exists.", t.ID)
	}
	if err != nil {
		return fmt.Errorf("put tenant: %w", err)
	}
	return nil
}

// GetTenant returns a tenant. It returns ENotFound when there is none.
func (s *Store) GetTenant(ctx context.Context, id string) (*latchkey.Tenant, error) {
	var it tenantItem
	ok, err := s.get(ctx, tenantKey(id), skTenant, &it)
	if err != nil {
		return nil, fmt.Errorf("get tenant: %w", err)
	}
	if !ok {
		return nil, latchkey.Errorf(latchkey.ENotFound, "Tenant not found.")
	}
	return &it.Tenant, nil
}

// ListTenants returns every tenant, ordered by id.
func (s *Store) ListTenants(ctx context.Context) ([]latchkey.Tenant, error) {
	var out []latchkey.Tenant
	p := dynamodb.NewQueryPaginator(s.api, &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(schema.IndexGSI1),
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(tenantsIndex)},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query tenants: %w", err)
		}
		for _, raw := range page.Items {
			var it tenantItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, fmt.Errorf("unmarshal tenant: %w", err)
			}
			out = append(out, it.Tenant)
		}
	}
	return out, nil
}

// ---- users ----

type userItem struct {
	PK, SK, GSI1PK, GSI1SK string
	TenantID               string          `dynamodbav:"tenantId"`
	ID                     string          `dynamodbav:"userId"`
	Username               string          `dynamodbav:"username"`
	Email                  string          `dynamodbav:"email,omitempty"`
	Mobile                 string          `dynamodbav:"mobile,omitempty"`
	Roles                  []latchkey.Role `dynamodbav:"roles"`
	PasswordHash           string          `dynamodbav:"passwordHash,omitempty"`
	SessionVersion         int             `dynamodbav:"sessionVersion"`
	PasswordChangedAt      time.Time       `dynamodbav:"passwordChangedAt,omitempty"`
	Permissions            []string        `dynamodbav:"permissions,omitempty"`
	Profiles               []string        `dynamodbav:"profiles,omitempty"`
	CompanyExceptions      []string        `dynamodbav:"companyExceptions,omitempty"`
	SponsorID              string          `dynamodbav:"sponsorId,omitempty"`
	CreatedAt              time.Time       `dynamodbav:"createdAt"`
	LastLoginAt            time.Time       `dynamodbav:"lastLoginAt,omitempty"`
	PINCodeMAC             string          `dynamodbav:"pinCodeMac,omitempty"`
	PINCodeSealed          string          `dynamodbav:"pinCodeSealed,omitempty"`
	PINCodeSetAt           time.Time       `dynamodbav:"pinCodeSetAt,omitempty"`
	// LockedAt is a pointer so that an unlocked user has no lockedAt
	// attribute at all (conditions test attribute_not_exists(lockedAt)).
	LockedAt *time.Time `dynamodbav:"lockedAt,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func toUserItem(u latchkey.User) userItem {
	return userItem{
		PK: userKey(u.TenantID, u.ID), SK: skUser,
		GSI1PK: usersIndexKey(u.TenantID), GSI1SK: latchkey.NormalizeUsername(u.Username),
		TenantID: u.TenantID, ID: u.ID, Username: u.Username, Email: u.Email, Mobile: u.Mobile,
		Roles: u.Roles, PasswordHash: u.PasswordHash, SessionVersion: u.SessionVersion,
		PasswordChangedAt: u.PasswordChangedAt, Permissions: u.Permissions, Profiles: u.Profiles,
		CompanyExceptions: u.CompanyExceptions, SponsorID: u.SponsorID, CreatedAt: u.CreatedAt, LastLoginAt: u.LastLoginAt,
		PINCodeMAC: u.PINCodeMAC, PINCodeSealed: u.PINCodeSealed, PINCodeSetAt: u.PINCodeSetAt, LockedAt: timePtr(u.LockedAt),
	}
}

func (it userItem) user() *latchkey.User {
	return &latchkey.User{
		TenantID: it.TenantID, ID: it.ID, Username: it.Username, Email: it.Email, Mobile: it.Mobile,
		Roles: it.Roles, PasswordHash: it.PasswordHash, SessionVersion: it.SessionVersion,
		PasswordChangedAt: it.PasswordChangedAt, Permissions: it.Permissions, Profiles: it.Profiles,
		CompanyExceptions: it.CompanyExceptions, SponsorID: it.SponsorID, CreatedAt: it.CreatedAt, LastLoginAt: it.LastLoginAt,
		PINCodeMAC: it.PINCodeMAC, PINCodeSealed: it.PINCodeSealed, PINCodeSetAt: it.PINCodeSetAt, LockedAt: timeOf(it.LockedAt),
	}
}

type usernameItem struct {
	PK, SK string
	UserID string `dynamodbav:"userId"`
}

// TempPassword is a stored temporary password: its argon2id hash and expiry.
type TempPassword struct {
	Hash      string    `dynamodbav:"hash"`
	ExpiresAt time.Time `dynamodbav:"expiresAt"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
	// ChallengeMAC names the one NEW_PASSWORD_REQUIRED challenge this
	// temporary password may complete (the latest sign-in with it).
	ChallengeMAC string `dynamodbav:"challengeMac,omitempty"`
}

type tempPWItem struct {
	PK, SK string
	TempPassword
	TTL int64 `dynamodbav:"ttl"`
}

func (s *Store) tempPWPut(tid, uid string, tp TempPassword) (*types.Put, error) {
	item, err := s.marshal(tempPWItem{PK: userKey(tid, uid), SK: skTempPW, TempPassword: tp, TTL: tp.ExpiresAt.Unix()})
	if err != nil {
		return nil, fmt.Errorf("marshal temporary password: %w", err)
	}
	return &types.Put{TableName: &s.table, Item: item}, nil
}

// Sponsor is the PIN-code holder a user is created with: the creation
// happens only if the holder still holds the code whose MAC is PINCodeMAC
// and is not locked, checked in the creating transaction.
type Sponsor struct {
	UserID     string
	PINCodeMAC string
}

// CreateUser stores a new user, claims the username key and, when tp is not
// nil, stores the user's temporary password, all in one transaction. When
// sponsor is not nil the transaction also checks that the sponsor still
// holds its PIN code and is not locked, so a code revoked or replaced, or a
// holder locked, while the signup runs creates nobody. It returns
// EUsernameTaken when the username key is already claimed in the tenant and
// EInvalidPINCode when the sponsor check fails.
func (s *Store) CreateUser(ctx context.Context, u latchkey.User, tp *TempPassword, sponsor *Sponsor) error {
	claim, err := s.marshal(usernameItem{PK: usernameKey(u.TenantID, latchkey.UsernameKey(u.Username)), SK: skUsername, UserID: u.ID})
	if err != nil {
		return fmt.Errorf("marshal username: %w", err)
	}
	user, err := s.marshal(toUserItem(u))
	if err != nil {
		return fmt.Errorf("marshal user: %w", err)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: claim, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: &types.Put{TableName: &s.table, Item: user, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	}
	if tp != nil {
		put, err := s.tempPWPut(u.TenantID, u.ID, *tp)
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	if sponsor != nil {
		items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: &s.table, Key: key(userKey(u.TenantID, sponsor.UserID), skUser),
			ConditionExpression:       aws.String("pinCodeMac = :mac AND attribute_not_exists(lockedAt)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":mac": str(sponsor.PINCodeMAC)},
		}})
	}
	err = s.transact(ctx, items)
	r := cancelReasons(err)
	if sponsor != nil && len(r) > 0 && r[len(r)-1] == "ConditionalCheckFailed" {
		return latchkey.Errorf(latchkey.EInvalidPINCode, "The PIN code is not valid.")
	}
	if len(r) > 0 && r[0] == "ConditionalCheckFailed" {
		return latchkey.Errorf(latchkey.EUsernameTaken, "That username is taken.")
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// GetUser returns a user of a tenant. It returns ENotFound when there is none.
func (s *Store) GetUser(ctx context.Context, tid, uid string) (*latchkey.User, error) {
	var it userItem
	ok, err := s.get(ctx, userKey(tid, uid), skUser, &it)
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	if !ok || it.TenantID != tid {
		return nil, latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	return it.user(), nil
}

// GetUserByUsername finds a user by username, compared by username key
// (latchkey.UsernameKey). It returns ENotFound when there is none.
func (s *Store) GetUserByUsername(ctx context.Context, tid, username string) (*latchkey.User, error) {
	u, _, err := s.GetUserByUsernameWithTemp(ctx, tid, username)
	return u, err
}

// GetUserByUsernameWithTemp finds a user by username and returns it with its
// temporary password (nil when it has none or it has expired), reading the
// user's partition in one query. It returns ENotFound when there is no user.
func (s *Store) GetUserByUsernameWithTemp(ctx context.Context, tid, username string) (*latchkey.User, *TempPassword, error) {
	var claim usernameItem
	ok, err := s.get(ctx, usernameKey(tid, latchkey.UsernameKey(username)), skUsername, &claim)
	if err != nil {
		return nil, nil, fmt.Errorf("get username: %w", err)
	}
	if !ok {
		return nil, nil, latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	return s.GetUserWithTemp(ctx, tid, claim.UserID)
}

// GetUserWithTemp returns a user and its temporary password (nil when it has
// none or it has expired by the store's clock), reading the user's
// partition in one query. It returns ENotFound when there is no user.
func (s *Store) GetUserWithTemp(ctx context.Context, tid, uid string) (*latchkey.User, *TempPassword, error) {
	res, err := s.api.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(userKey(tid, uid))},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("query user: %w", err)
	}
	var u *latchkey.User
	var tp *TempPassword
	for _, raw := range res.Items {
		sk, _ := raw[schema.AttrSK].(*types.AttributeValueMemberS)
		if sk == nil {
			continue
		}
		switch sk.Value {
		case skUser:
			var it userItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, nil, fmt.Errorf("unmarshal user: %w", err)
			}
			if it.TenantID == tid {
				u = it.user()
			}
		case skTempPW:
			var it tempPWItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, nil, fmt.Errorf("unmarshal temporary password: %w", err)
			}
			if s.now().Before(it.ExpiresAt) {
				tp = &it.TempPassword
			}
		}
	}
	if u == nil {
		return nil, nil, latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	return u, tp, nil
}

// ListUsers returns up to limit users of a tenant ordered by normalized
// username, starting after the cursor (a normalized username; "" for the
// first page). next is "" on the last page.
func (s *Store) ListUsers(ctx context.Context, tid, cursor string, limit int) (users []latchkey.User, next string, err error) {
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(schema.IndexGSI1),
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(usersIndexKey(tid))},
		Limit:                     aws.Int32(int32(limit)),
	}
	if cursor != "" {
		in.KeyConditionExpression = aws.String("GSI1PK = :pk AND GSI1SK > :after")
		in.ExpressionAttributeValues[":after"] = str(cursor)
	}
	res, err := s.api.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("query users: %w", err)
	}
	for _, raw := range res.Items {
		var it userItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, "", fmt.Errorf("unmarshal user: %w", err)
		}
		users = append(users, *it.user())
		next = it.GSI1SK
	}
	if res.LastEvaluatedKey == nil {
		next = ""
	}
	return users, next, nil
}

// RecordSignIn sets the user's last sign-in time. With endPendingReset it
// also deletes the user's temporary password in the same transaction: a
// sign-in with the current password ends a forgot-password request, so its
// temporary password does not stay usable for the rest of its 48 hours.
func (s *Store) RecordSignIn(ctx context.Context, tid, uid string, at time.Time, endPendingReset bool) error {
	upd := &types.Update{
		TableName: &s.table, Key: key(userKey(tid, uid), skUser),
		UpdateExpression:          aws.String("SET lastLoginAt = :t"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": str(at.UTC().Format(time.RFC3339Nano))},
	}
	var err error
	if endPendingReset {
		err = s.transact(ctx, []types.TransactWriteItem{
			{Update: upd},
			{Delete: &types.Delete{TableName: &s.table, Key: key(userKey(tid, uid), skTempPW)}},
		})
		if r := cancelReasons(err); len(r) > 0 && r[0] == "ConditionalCheckFailed" {
			return latchkey.Errorf(latchkey.ENotFound, "User not found.")
		}
	} else {
		_, err = s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: upd.TableName, Key: upd.Key, UpdateExpression: upd.UpdateExpression,
			ConditionExpression: upd.ConditionExpression, ExpressionAttributeValues: upd.ExpressionAttributeValues,
		})
		if isConditionFailed(err) {
			return latchkey.Errorf(latchkey.ENotFound, "User not found.")
		}
	}
	if err != nil {
		return fmt.Errorf("record sign-in: %w", err)
	}
	return nil
}

// ---- temporary passwords and the new-password challenge ----

// PutTempPassword stores a temporary password for a user, replacing any
// earlier one. The user's current password keeps working (forgot-password:
// a stranger cannot lock someone out by asking for resets).
func (s *Store) PutTempPassword(ctx context.Context, tid, uid string, tp TempPassword) error {
	put, err := s.tempPWPut(tid, uid, tp)
	if err != nil {
		return err
	}
	_, err = s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item})
	if err != nil {
		return fmt.Errorf("put temporary password: %w", err)
	}
	return nil
}

// ResetPassword replaces a user's password at once with a temporary one: the
// current password is removed, existing sessions and challenges end (the
// session version increases) and tp is stored, in one transaction, provided
// the session version is still expectedVersion. It returns ENotFound or
// EConflict (the user changed meanwhile).
func (s *Store) ResetPassword(ctx context.Context, tid, uid string, expectedVersion int, tp TempPassword) error {
	put, err := s.tempPWPut(tid, uid, tp)
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(userKey(tid, uid), skUser),
			UpdateExpression:          aws.String("REMOVE passwordHash ADD sessionVersion :one"),
			ConditionExpression:       aws.String("attribute_exists(PK) AND sessionVersion = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":v": num(int64(expectedVersion))},
		}},
		{Put: put},
	})
	if r := cancelReasons(err); len(r) > 0 && r[0] == "ConditionalCheckFailed" {
		return s.userOrConflict(ctx, tid, uid, "The user changed meanwhile. Try again.")
	}
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	return nil
}

// UndoReset reverses ResetPassword when its e-mail could not be sent: the
// previous password hash (none when oldHash is "") and session version come
// back and the temporary password created at tp.CreatedAt goes, provided
// nothing changed since (the session version is still expectedVersion+1).
// It returns EConflict when something did.
func (s *Store) UndoReset(ctx context.Context, tid, uid string, expectedVersion int, oldHash string, tp TempPassword) error {
	created, err := attributevalue.Marshal(tp.CreatedAt)
	if err != nil {
		return fmt.Errorf("marshal created: %w", err)
	}
	upd := &types.Update{
		TableName: &s.table, Key: key(userKey(tid, uid), skUser),
		UpdateExpression:    aws.String("SET sessionVersion = :v"),
		ConditionExpression: aws.String("attribute_exists(PK) AND sessionVersion = :after AND attribute_not_exists(passwordHash)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":v": num(int64(expectedVersion)), ":after": num(int64(expectedVersion + 1)),
		},
	}
	if oldHash != "" {
		upd.UpdateExpression = aws.String("SET sessionVersion = :v, passwordHash = :h")
		upd.ExpressionAttributeValues[":h"] = str(oldHash)
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Update: upd},
		{Delete: &types.Delete{
			TableName: &s.table, Key: key(userKey(tid, uid), skTempPW),
			ConditionExpression:       aws.String("createdAt = :c"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":c": created},
		}},
	})
	if r := cancelReasons(err); len(r) > 0 {
		return latchkey.Errorf(latchkey.EConflict, "The user changed meanwhile; the reset was not undone.")
	}
	if err != nil {
		return fmt.Errorf("undo reset: %w", err)
	}
	return nil
}

// GetTempPassword returns a user's temporary password. It returns ENotFound
// when there is none or it has expired by the store's clock.
func (s *Store) GetTempPassword(ctx context.Context, tid, uid string) (*TempPassword, error) {
	var it tempPWItem
	ok, err := s.get(ctx, userKey(tid, uid), skTempPW, &it)
	if err != nil {
		return nil, fmt.Errorf("get temporary password: %w", err)
	}
	if !ok || !s.now().Before(it.ExpiresAt) {
		return nil, latchkey.Errorf(latchkey.ENotFound, "No temporary password.")
	}
	return &it.TempPassword, nil
}

// Challenge is a pending NEW_PASSWORD_REQUIRED challenge, stored under the
// keyed MAC of its session token (the token itself is never stored). It is
// bound to what it was issued for: the user's session version and the
// temporary password (whose item names this challenge), so a lock, a reset,
// a password change, a newer temporary password or a newer challenge ends it.
type Challenge struct {
	MAC            string    `dynamodbav:"-"`
	UserID         string    `dynamodbav:"userId"`
	ExpiresAt      time.Time `dynamodbav:"expiresAt"`
	SessionVersion int       `dynamodbav:"sessionVersion"`
	// UsernameKey is the user's latchkey.UsernameKey, whose lockout the
	// completion ends (the user proved the temporary password).
	UsernameKey string `dynamodbav:"usernameKey"`
}

type challengeItem struct {
	PK, SK string
	Challenge
	TTL int64 `dynamodbav:"ttl"`
}

// PutChallenge stores a new challenge for the temporary password created at
// tempCreatedAt and names it on that temporary password, in one
// transaction, so only the latest challenge of the latest temporary password
// can be completed. It returns EInvalidCredentials when the temporary
// password changed meanwhile.
func (s *Store) PutChallenge(ctx context.Context, tid string, c Challenge, tempCreatedAt time.Time) error {
	item, err := s.marshal(challengeItem{PK: challengeKey(tid, c.MAC), SK: skChallenge, Challenge: c, TTL: c.ExpiresAt.Unix()})
	if err != nil {
		return fmt.Errorf("marshal challenge: %w", err)
	}
	created, err := attributevalue.Marshal(tempCreatedAt)
	if err != nil {
		return fmt.Errorf("marshal created: %w", err)
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Update: &types.Update{
			TableName: &s.table, Key: key(userKey(tid, c.UserID), skTempPW),
			UpdateExpression:          aws.String("SET challengeMac = :mac"),
			ConditionExpression:       aws.String("createdAt = :c"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":mac": str(c.MAC), ":c": created},
		}},
	})
	if r := cancelReasons(err); len(r) > 0 {
		return latchkey.Errorf(latchkey.EInvalidCredentials, "The username or password is incorrect.")
	}
	if err != nil {
		return fmt.Errorf("put challenge: %w", err)
	}
	return nil
}

// GetChallenge returns a challenge by the MAC of its token. It returns
// EInvalidSession when there is none or it has expired.
func (s *Store) GetChallenge(ctx context.Context, tid, mac string) (*Challenge, error) {
	var it challengeItem
	ok, err := s.get(ctx, challengeKey(tid, mac), skChallenge, &it)
	if err != nil {
		return nil, fmt.Errorf("get challenge: %w", err)
	}
	if !ok || !s.now().Before(it.ExpiresAt) {
		return nil, latchkey.Errorf(latchkey.EInvalidSession, "The session is invalid or has expired. Sign in again.")
	}
	c := it.Challenge
	c.MAC = mac
	return &c, nil
}

// CompleteChallenge consumes a challenge and sets the user's new password in
// one transaction, which holds only if the challenge still exists and has
// not expired, the user's session version is still the challenge's and the
// user is not locked, and the user's temporary password still names this
// challenge. It sets the password hash, raises the session version, deletes
// the temporary password and ends the username's lockout. Of concurrent
// completions of one challenge exactly one succeeds; the others, and every
// completion after a lock, reset, password change or newer temporary
// password, get EInvalidSession. It returns the new session version.
func (s *Store) CompleteChallenge(ctx context.Context, tid string, c *Challenge, newHash string) (int, error) {
	now := s.now()
	err := s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: &s.table, Key: key(challengeKey(tid, c.MAC), skChallenge),
			ConditionExpression:       aws.String("attribute_exists(PK) AND #ttl > :now"),
			ExpressionAttributeNames:  map[string]string{"#ttl": schema.AttrTTL},
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
		}},
		{Update: &types.Update{
			TableName: &s.table, Key: key(userKey(tid, c.UserID), skUser),
			UpdateExpression:    aws.String("SET passwordHash = :h, passwordChangedAt = :t ADD sessionVersion :one"),
			ConditionExpression: aws.String("attribute_exists(PK) AND sessionVersion = :v AND attribute_not_exists(lockedAt)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":h": str(newHash), ":t": str(now.UTC().Format(time.RFC3339Nano)), ":one": num(1),
				":v": num(int64(c.SessionVersion)),
			},
		}},
		{Delete: &types.Delete{
			TableName: &s.table, Key: key(userKey(tid, c.UserID), skTempPW),
			ConditionExpression:       aws.String("challengeMac = :mac"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":mac": str(c.MAC)},
		}},
		{Delete: &types.Delete{TableName: &s.table, Key: loginStateKey(tid, c.UsernameKey)}},
	})
	if r := cancelReasons(err); len(r) > 0 {
		return 0, latchkey.Errorf(latchkey.EInvalidSession, "The session is invalid or has expired. Sign in again.")
	}
	if err != nil {
		return 0, fmt.Errorf("complete challenge: %w", err)
	}
	return c.SessionVersion + 1, nil
}

// ChangePassword sets a user's new password if the user's session version is
// still expectedVersion (so a concurrent reset wins), raises the session
// version (ending other sessions) and deletes any temporary password. It
// returns EConflict when the version moved.
func (s *Store) ChangePassword(ctx context.Context, tid, uid string, expectedVersion int, newHash string) error {
	now := s.now()
	err := s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(userKey(tid, uid), skUser),
			UpdateExpression:    aws.String("SET passwordHash = :h, passwordChangedAt = :t ADD sessionVersion :one"),
			ConditionExpression: aws.String("attribute_exists(PK) AND sessionVersion = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":h": str(newHash), ":t": str(now.UTC().Format(time.RFC3339Nano)), ":one": num(1), ":v": num(int64(expectedVersion)),
			},
		}},
		{Delete: &types.Delete{TableName: &s.table, Key: key(userKey(tid, uid), skTempPW)}},
	})
	if r := cancelReasons(err); len(r) > 0 {
		return latchkey.Errorf(latchkey.EConflict, "The password was changed meanwhile. Sign in again.")
	}
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return nil
}

// PutTenantSettings replaces a tenant's settings. It returns ENotFound.
func (s *Store) PutTenantSettings(ctx context.Context, tid string, st latchkey.Settings) error {
	av, err := attributevalue.Marshal(st)
	if err != nil {
		return fmt.Errorf("marshal settings: %w", err)
	}
	_, err = s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(tenantKey(tid), skTenant),
		UpdateExpression:          aws.String("SET Settings = :s"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": av},
	})
	if isConditionFailed(err) {
		return latchkey.Errorf(latchkey.ENotFound, "Tenant not found.")
	}
	if err != nil {
		return fmt.Errorf("put tenant settings: %w", err)
	}
	return nil
}
