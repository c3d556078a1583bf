package dynamo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/schema"
)

// userItem is a USER item: the keys, then the user's own attributes as
// latchkey.User tags them. RegistrationStatus and GSI2PK are derived from
// the user (User.RegistrationStatus) and rewritten by every write that
// changes e-mail, mobile or first self-serve use, so that GSI2 lists a
// tenant's users of one status without a scan. GSI3PK and GSI3SK (the
// expiry index, see expiryKeyOf) are set only for a user with a password
// expiry date, and rewritten by every write that changes that date.
type userItem struct {
	PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK string
	GSI3PK                                 string `dynamodbav:",omitempty"`
	GSI3SK                                 string `dynamodbav:",omitempty"`
	RegistrationStatus                     string `dynamodbav:"registrationStatus"`
	latchkey.User
}

func toUserItem(u latchkey.User) userItem {
	norm := latchkey.NormalizeUsername(u.Username)
	status := u.RegistrationStatus()
	return userItem{
		PK: userKey(u.TenantID, u.ID), SK: skUser,
		GSI1PK: usersIndexKey(u.TenantID), GSI1SK: norm,
		GSI2PK: registrationKey(u.TenantID, status), GSI2SK: norm, RegistrationStatus: status,
		GSI3PK: expiryKeyOf(u), GSI3SK: expirySortOf(u),
		User: u,
	}
}

// registrationKey is the GSI2 partition of a tenant's users of one
// registration status.
func registrationKey(tid, status string) string { return "TENANT#" + tid + "#REG#" + status }

// adminRole is the admin role as an attribute value, for conditions on a
// user's roles list (contains(roles, :admin)).
var adminRole = str(string(latchkey.RoleAdmin))

type usernameItem struct {
	PK, SK string
	UserID string `dynamodbav:"userId"`
}

// CreateUser stores a new user, claims the username key and, when tp is not
// nil, stores the user's temporary password, all in one transaction. When
// sponsor is not nil the transaction also checks that the sponsor still
// holds its PIN code and is not locked, so a code revoked or replaced, or a
// holder locked, while the signup runs creates nobody. The audit event is
// written in the same transaction. It returns
// EUsernameTaken when the username key is already claimed in the tenant and
// EInvalidPINCode when the sponsor check fails.
func (s *Store) CreateUser(ctx context.Context, u latchkey.User, tp *latchkey.TempPassword, sponsor *latchkey.Sponsor, audit latchkey.AuditEvent) error {
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
	sponsorAt := -1
	if sponsor != nil {
		sponsorAt = len(items)
		items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: &s.table, Key: key(userKey(u.TenantID, sponsor.UserID), skUser),
			ConditionExpression:       aws.String("pinCodeMac = :mac AND attribute_not_exists(lockedAt)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":mac": str(sponsor.PINCodeMAC)},
		}})
	}
	countAt := -1
	if u.HasRole(latchkey.RoleAdmin) {
		countAt = len(items)
		items = append(items, types.TransactWriteItem{Update: s.adminCountUpdate(u.TenantID, +1)})
	}
	put, err := s.auditPut(ctx, audit)
	if err != nil {
		return err
	}
	items = append(items, types.TransactWriteItem{Put: put})
	for try := 0; ; try++ {
		err = s.transact(ctx, items)
		r := cancelReasons(err)
		if sponsorAt >= 0 && len(r) > sponsorAt && r[sponsorAt] == "ConditionalCheckFailed" {
			return latchkey.Errorf(latchkey.EInvalidPINCode, "The PIN code is not valid.")
		}
		if len(r) > 0 && r[0] == "ConditionalCheckFailed" {
			return latchkey.Errorf(latchkey.EUsernameTaken, "That username is taken.")
		}
		if countAt >= 0 && len(r) > countAt && r[countAt] == "ConditionalCheckFailed" && try == 0 {
			// The tenant predates its admin count: count, then try again.
			if err := s.ensureAdminCount(ctx, u.TenantID); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		return nil
	}
}

// adminCountUpdate adds delta (+1 or -1) to tenant tid's count of admins,
// the count that keeps a tenant from losing its last admin (see
// docs/data-model.md, "The last admin"). Its condition fails when the
// tenant has no count yet (a tenant stored before the count existed: see
// ensureAdminCount) and, for -1, when the tenant has one admin or fewer.
func (s *Store) adminCountUpdate(tid string, delta int) *types.Update {
	u := &types.Update{
		TableName: &s.table, Key: key(tenantKey(tid), skTenant),
		UpdateExpression:          aws.String("SET adminCount = adminCount + :d"),
		ConditionExpression:       aws.String("attribute_exists(adminCount)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":d": num(int64(delta))},
	}
	if delta < 0 {
		u.ConditionExpression = aws.String("adminCount > :one")
		u.ExpressionAttributeValues[":one"] = num(1)
	}
	return u
}

// ensureAdminCount explains a failed condition on tenant tid's admin
// count: it reports whether the tenant had a count (then the condition
// failed on its value), and when it had none (a tenant stored before the
// count existed) it sets it from a count of the users holding the admin
// role (a Query of GSI1 with a filter) and reports false. Only a tenant
// without a count gets one, so a count kept by the transactions is never
// replaced. GSI1 is eventually consistent: a role changed in the very
// second of this one-time count may be missed. It returns ENotFound for an
// unknown tenant.
func (s *Store) ensureAdminCount(ctx context.Context, tid string) error {
	_, err := s.hasAdminCount(ctx, tid)
	return err
}

// hasAdminCount is ensureAdminCount, reporting whether the count was there.
func (s *Store) hasAdminCount(ctx context.Context, tid string) (bool, error) {
	var it tenantItem
	ok, err := s.get(ctx, tenantKey(tid), skTenant, &it)
	if err != nil {
		return false, fmt.Errorf("get tenant: %w", err)
	}
	if !ok {
		return false, latchkey.Errorf(latchkey.ENotFound, "Tenant not found.")
	}
	if it.AdminCount != nil {
		return true, nil
	}
	return false, s.initAdminCount(ctx, tid)
}

// initAdminCount counts tenant tid's admins and stores the count where
// the tenant has none (see ensureAdminCount).
func (s *Store) initAdminCount(ctx context.Context, tid string) error {
	p := dynamodb.NewQueryPaginator(s.api, &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(schema.IndexGSI1),
		KeyConditionExpression:   aws.String("GSI1PK = :pk"),
		FilterExpression:         aws.String("contains(#roles, :admin)"),
		ExpressionAttributeNames: map[string]string{"#roles": "roles"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(usersIndexKey(tid)), ":admin": adminRole,
		},
		Select: types.SelectCount,
	})
	n := int64(0)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("count admins: %w", err)
		}
		n += int64(page.Count)
	}
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(tenantKey(tid), skTenant),
		UpdateExpression:          aws.String("SET adminCount = :n"),
		ConditionExpression:       aws.String("attribute_exists(PK) AND attribute_not_exists(adminCount)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": num(n)},
	})
	if isConditionFailed(err) {
		return nil // counted meanwhile by another request (or the tenant is gone: the retry says so)
	}
	if err != nil {
		return fmt.Errorf("init admin count: %w", err)
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
	return &it.User, nil
}

// GetUserByUsername finds a user by username, compared by username key
// (latchkey.UsernameKey). It returns ENotFound when there is none.
func (s *Store) GetUserByUsername(ctx context.Context, tid, username string) (*latchkey.User, error) {
	u, _, err := s.GetUserByUsernameWithTemp(ctx, tid, username)
	return u, err
}

// GetUserByUsernameWithTemp finds a user by username and returns it with its
// temporary password (nil when it has none or it has expired): the username
// claim, then the user's partition in one query, also when there is no such
// username (then an empty partition), so that known and unknown usernames
// cost the same round trips. It returns ENotFound when there is no user.
func (s *Store) GetUserByUsernameWithTemp(ctx context.Context, tid, username string) (*latchkey.User, *latchkey.TempPassword, error) {
	var claim usernameItem
	ok, err := s.get(ctx, usernameKey(tid, latchkey.UsernameKey(username)), skUsername, &claim)
	if err != nil {
		return nil, nil, fmt.Errorf("get username: %w", err)
	}
	if !ok {
		// The same round trips as for a user: query a partition that holds
		// nothing, so an unknown username takes as long as a known one.
		_, _, _ = s.GetUserWithTemp(ctx, tid, "-")
		return nil, nil, latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	return s.GetUserWithTemp(ctx, tid, claim.UserID)
}

// GetUserWithTemp returns a user and its temporary password (nil when it has
// none or it has expired by the store's clock), reading the user's
// partition in one query. It returns ENotFound when there is no user.
func (s *Store) GetUserWithTemp(ctx context.Context, tid, uid string) (*latchkey.User, *latchkey.TempPassword, error) {
	items, err := s.partition(ctx, userKey(tid, uid))
	if err != nil {
		return nil, nil, fmt.Errorf("query user: %w", err)
	}
	var u *latchkey.User
	var tp *latchkey.TempPassword
	if raw, ok := items[skUser]; ok {
		var it userItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, nil, fmt.Errorf("unmarshal user: %w", err)
		}
		if it.TenantID == tid {
			u = &it.User
		}
	}
	if raw, ok := items[skTempPW]; ok {
		var it tempPWItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, nil, fmt.Errorf("unmarshal temporary password: %w", err)
		}
		if s.now().Before(it.ExpiresAt) {
			tp = it.temp()
		}
	}
	if u == nil {
		return nil, nil, latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	return u, tp, nil
}

// Pages of the user list: an unfiltered page reads one item more than it
// returns (to know whether more remain without a second Query); a filtered
// one reads filteredPage items per Query, since DynamoDB's Limit counts the
// items read before the filter.
const filteredPage = 200

// ListUsers returns up to limit users of tenant tid that f selects, ordered
// by normalized username, after the normalized username after ("" for the
// first page), and whether more may remain. It Queries GSI2 (the tenant's
// users of f.RegistrationStatus) or GSI1 (all the tenant's users), with
// f.SelfServe and f.Locked as a FilterExpression, until it has limit users
// or the index ends: never a Scan. Both indexes are eventually consistent.
func (s *Store) ListUsers(ctx context.Context, tid string, f latchkey.UserFilter, after string, limit int) (users []latchkey.User, more bool, err error) {
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(schema.IndexGSI1),
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(usersIndexKey(tid))},
	}
	skAttr := "GSI1SK"
	if f.RegistrationStatus != "" {
		in.IndexName, skAttr = aws.String(schema.IndexGSI2), "GSI2SK"
		in.KeyConditionExpression = aws.String("GSI2PK = :pk")
		in.ExpressionAttributeValues[":pk"] = str(registrationKey(tid, f.RegistrationStatus))
	}
	if after != "" {
		in.KeyConditionExpression = aws.String(*in.KeyConditionExpression + " AND " + skAttr + " > :after")
		in.ExpressionAttributeValues[":after"] = str(after)
	}
	var filters []string
	if f.SelfServe != nil {
		in.ExpressionAttributeValues[":on"] = &types.AttributeValueMemberBOOL{Value: true}
		if *f.SelfServe {
			filters = append(filters, "selfServe = :on")
		} else {
			filters = append(filters, "(attribute_not_exists(selfServe) OR selfServe <> :on)")
		}
	}
	if f.Locked != nil {
		if *f.Locked {
			filters = append(filters, "attribute_exists(lockedAt)")
		} else {
			filters = append(filters, "attribute_not_exists(lockedAt)")
		}
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	}
	for {
		page := int32(limit - len(users) + 1)
		if in.FilterExpression != nil {
			page = filteredPage
		}
		in.Limit = aws.Int32(page)
		res, err := s.api.Query(ctx, in)
		if err != nil {
			return nil, false, fmt.Errorf("query users: %w", err)
		}
		for _, raw := range res.Items {
			if len(users) == limit {
				return users, true, nil
			}
			var it userItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, false, fmt.Errorf("unmarshal user: %w", err)
			}
			users = append(users, it.User)
		}
		if res.LastEvaluatedKey == nil {
			return users, false, nil
		}
		if len(users) == limit {
			return users, true, nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// DeleteNewUser undoes CreateUser: it deletes the user, its username claim
// (only while the claim still names this user) and its temporary password in
// one transaction. It is for a creation whose later step failed, so that the
// request leaves nothing half-written; it returns ENotFound when the user is
// gone already.
func (s *Store) DeleteNewUser(ctx context.Context, u latchkey.User) error {
	items := []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: &s.table, Key: key(userKey(u.TenantID, u.ID), skUser),
			ConditionExpression: aws.String("attribute_exists(PK)"),
		}},
		{Delete: &types.Delete{
			TableName: &s.table, Key: key(usernameKey(u.TenantID, latchkey.UsernameKey(u.Username)), skUsername),
			ConditionExpression:       aws.String("userId = :uid"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":uid": str(u.ID)},
		}},
		{Delete: &types.Delete{TableName: &s.table, Key: key(userKey(u.TenantID, u.ID), skTempPW)}},
	}
	if u.HasRole(latchkey.RoleAdmin) {
		// The creation counted the admin: count it out again (never below 0).
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: key(tenantKey(u.TenantID), skTenant),
			UpdateExpression:          aws.String("SET adminCount = adminCount - :one"),
			ConditionExpression:       aws.String("adminCount > :zero"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":zero": num(0)},
		}})
	}
	err := s.transact(ctx, items)
	if r := cancelReasons(err); len(r) > 0 {
		return latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	if err != nil {
		return fmt.Errorf("delete new user: %w", err)
	}
	return nil
}

// LockUser sets an admin lock on user uid and raises the session version in
// one write, so every token and pending challenge of the user ends at once.
// It reports whether the user was not locked before. It returns ENotFound.
func (s *Store) LockUser(ctx context.Context, tid, uid string) (newly bool, err error) {
	res, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(userKey(tid, uid), skUser),
		UpdateExpression:    aws.String("SET lockedAt = if_not_exists(lockedAt, :t) ADD sessionVersion :one"),
		ConditionExpression: aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": timeAV(s.now()), ":one": num(1),
		},
		ReturnValues: types.ReturnValueUpdatedOld,
	})
	if isConditionFailed(err) {
		return false, latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	if err != nil {
		return false, fmt.Errorf("lock user: %w", err)
	}
	_, was := res.Attributes["lockedAt"]
	return !was, nil
}

// UnlockUser removes user uid's admin lock and ends any lockout of its
// username key, in one transaction. It returns ENotFound.
func (s *Store) UnlockUser(ctx context.Context, tid, uid, ukey string) error {
	err := s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(userKey(tid, uid), skUser),
			UpdateExpression:    aws.String("REMOVE lockedAt"),
			ConditionExpression: aws.String("attribute_exists(PK)"),
		}},
		{Delete: &types.Delete{TableName: &s.table, Key: loginStateKey(tid, ukey)}},
	})
	if r := cancelReasons(err); len(r) > 0 && r[0] == "ConditionalCheckFailed" {
		return latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	if err != nil {
		return fmt.Errorf("unlock user: %w", err)
	}
	return nil
}

// SetUserPIN stores the user PIN of user uid as its keyed MAC (pinMac),
// with when it was set (pinSetAt) and whether an admin set it
// (pinSetByAdmin), and appends audit, in one transaction: the PIN and its
// record cannot part. The PIN itself is never given to the store. It
// returns ENotFound when there is no such user.
func (s *Store) SetUserPIN(ctx context.Context, tid, uid, mac string, byAdmin bool, at time.Time, audit latchkey.AuditEvent) error {
	put, err := s.auditPut(ctx, audit)
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(userKey(tid, uid), skUser),
			UpdateExpression:    aws.String("SET pinMac = :mac, pinSetAt = :at, pinSetByAdmin = :admin"),
			ConditionExpression: aws.String("attribute_exists(PK)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":mac": str(mac), ":at": timeAV(at), ":admin": &types.AttributeValueMemberBOOL{Value: byAdmin},
			},
		}},
		{Put: put},
	})
	if r := cancelReasons(err); len(r) > 0 && r[0] == "ConditionalCheckFailed" {
		return latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	if err != nil {
		return fmt.Errorf("set user pin: %w", err)
	}
	return nil
}

// UpdateUser writes the administrable attributes of next (e-mail, mobile,
// password expiry day, roles, permissions, profiles, company exceptions)
// over prev, the user as the caller read it, with the registration status
// they give and audit, in one transaction. It holds only while the user
// still has prev's e-mail, mobile and first self-serve use (so the stored
// registration status is right) and, when roles are written, still holds
// the admin role exactly when prev did; else it returns EConflict (read
// again and retry) or ENotFound. Taking the admin role from a user
// lowers the tenant's admin count in the same transaction, conditioned on
// another admin remaining: of concurrent demotions of a tenant's last two
// admins exactly one succeeds, and the other returns ELastAdmin. Granting
// it raises the count.
func (s *Store) UpdateUser(ctx context.Context, prev *latchkey.User, next latchkey.User, audit latchkey.AuditEvent) error {
	it := toUserItem(next)
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var sets, removes, conds []string
	conds = append(conds, "attribute_exists(PK)")
	n := 0
	set := func(attr string, v any) error {
		av, err := attributevalue.Marshal(v)
		if err != nil {
			return fmt.Errorf("marshal %s: %w", attr, err)
		}
		n++
		name, val := fmt.Sprintf("#a%d", n), fmt.Sprintf(":v%d", n)
		names[name], values[val] = attr, av
		sets = append(sets, name+" = "+val)
		return nil
	}
	remove := func(attr string) {
		n++
		name := fmt.Sprintf("#a%d", n)
		names[name] = attr
		removes = append(removes, name)
	}
	// setOrRemove writes a string or list attribute, removing it when empty.
	setOrRemove := func(attr string, v any, empty bool) error {
		if empty {
			remove(attr)
			return nil
		}
		return set(attr, v)
	}
	// unchanged conditions attr on still holding was ("" for absent).
	unchanged := func(attr, was string) {
		n++
		name := fmt.Sprintf("#a%d", n)
		names[name] = attr
		if was == "" {
			conds = append(conds, "attribute_not_exists("+name+")")
			return
		}
		val := fmt.Sprintf(":v%d", n)
		values[val] = str(was)
		conds = append(conds, name+" = "+val)
	}
	// Only what changed is written, so a concurrent change of another
	// attribute is not undone; the registration status always is.
	for _, w := range []struct {
		attr    string
		v       any
		empty   bool
		changed bool
	}{
		{"email", next.Email, next.Email == "", next.Email != prev.Email},
		{"mobile", next.Mobile, next.Mobile == "", next.Mobile != prev.Mobile},
		// A new address is not the one that bounced or was complained about.
		{"emailBouncedAt", nil, true, next.Email != prev.Email},
		{"emailComplainedAt", nil, true, next.Email != prev.Email},
		{"passwordExpiresOn", next.PasswordExpiresOn, next.PasswordExpiresOn == "", next.PasswordExpiresOn != prev.PasswordExpiresOn},
		{"roles", next.Roles, len(next.Roles) == 0, !slices.Equal(next.Roles, prev.Roles)},
		{"permissions", next.Permissions, len(next.Permissions) == 0, !slices.Equal(next.Permissions, prev.Permissions)},
		{"profiles", next.Profiles, len(next.Profiles) == 0, !slices.Equal(next.Profiles, prev.Profiles)},
		{"companyExceptions", next.CompanyExceptions, len(next.CompanyExceptions) == 0, !slices.Equal(next.CompanyExceptions, prev.CompanyExceptions)},
		{"registrationStatus", it.RegistrationStatus, false, true},
		{"GSI2PK", it.GSI2PK, false, true},
		{"GSI2SK", it.GSI2SK, false, true},
		// The expiry index follows passwordExpiresOn: removed with it.
		{"GSI3PK", it.GSI3PK, it.GSI3PK == "", next.PasswordExpiresOn != prev.PasswordExpiresOn},
		{"GSI3SK", it.GSI3SK, it.GSI3SK == "", next.PasswordExpiresOn != prev.PasswordExpiresOn},
	} {
		if !w.changed {
			continue
		}
		if err := setOrRemove(w.attr, w.v, w.empty); err != nil {
			return err
		}
	}
	unchanged("email", prev.Email)
	unchanged("mobile", prev.Mobile)
	n++
	accessed := fmt.Sprintf("#a%d", n)
	names[accessed] = "accessedSelfServeAt"
	if prev.AccessedSelfServeAt == nil {
		conds = append(conds, "attribute_not_exists("+accessed+")")
	} else {
		conds = append(conds, "attribute_exists("+accessed+")")
	}
	n++
	roles := fmt.Sprintf("#a%d", n)
	names[roles] = "roles"
	values[":admin"] = adminRole
	if prev.HasRole(latchkey.RoleAdmin) {
		conds = append(conds, "contains("+roles+", :admin)")
	} else {
		conds = append(conds, "NOT contains("+roles+", :admin)")
	}
	expr := "SET " + strings.Join(sets, ", ")
	if len(removes) > 0 {
		expr += " REMOVE " + strings.Join(removes, ", ")
	}
	items := []types.TransactWriteItem{{Update: &types.Update{
		TableName: &s.table, Key: key(userKey(next.TenantID, next.ID), skUser),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String(strings.Join(conds, " AND ")),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}}}
	countAt, countDelta := -1, 0
	if was, is := prev.HasRole(latchkey.RoleAdmin), next.HasRole(latchkey.RoleAdmin); was != is {
		countDelta = +1
		if was {
			countDelta = -1
		}
		countAt = len(items)
		items = append(items, types.TransactWriteItem{Update: s.adminCountUpdate(next.TenantID, countDelta)})
	}
	put, err := s.auditPut(ctx, audit)
	if err != nil {
		return err
	}
	items = append(items, types.TransactWriteItem{Put: put})
	for try := 0; ; try++ {
		err = s.transact(ctx, items)
		r := cancelReasons(err)
		if len(r) == 0 {
			if err != nil {
				return fmt.Errorf("update user: %w", err)
			}
			return nil
		}
		if r[0] == "ConditionalCheckFailed" {
			return s.userOrConflict(ctx, next.TenantID, next.ID, "The user was changed meanwhile. Try again.")
		}
		if countAt < 0 || len(r) <= countAt || r[countAt] != "ConditionalCheckFailed" {
			return fmt.Errorf("update user: %w", err)
		}
		counted, err := s.hasAdminCount(ctx, next.TenantID)
		switch {
		case err != nil:
			return err
		case counted && countDelta < 0:
			return latchkey.Errorf(latchkey.ELastAdmin, "roles: this is the tenant's last admin; make another user an admin first.")
		case try > 0:
			return fmt.Errorf("update user: the tenant's admin count is still missing")
		}
		// Counted just now (the tenant had no count): try again.
	}
}

// SetSelfServe sets user uid's own self-serve switch, with audit, in one
// transaction that also checks that tenant tid's self-serve override is
// still on (a change of the override is never raced past). It returns
// ENotFound (no such user) or ETenantSelfServiceDisabled.
func (s *Store) SetSelfServe(ctx context.Context, tid, uid string, on bool, audit latchkey.AuditEvent) error {
	put, err := s.auditPut(ctx, audit)
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{
			TableName: &s.table, Key: key(tenantKey(tid), skTenant),
			// A tenant stored before the override existed has it on (the default).
			ConditionExpression:       aws.String("attribute_not_exists(#st.#ss) OR #st.#ss = :on"),
			ExpressionAttributeNames:  map[string]string{"#st": "Settings", "#ss": "SelfServe"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":on": &types.AttributeValueMemberBOOL{Value: true}},
		}},
		{Update: &types.Update{
			TableName: &s.table, Key: key(userKey(tid, uid), skUser),
			UpdateExpression:          aws.String("SET selfServe = :v"),
			ConditionExpression:       aws.String("attribute_exists(PK)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberBOOL{Value: on}},
		}},
		{Put: put},
	})
	r := cancelReasons(err)
	switch {
	case len(r) > 0 && r[0] == "ConditionalCheckFailed":
		return latchkey.Errorf(latchkey.ETenantSelfServiceDisabled, "Self-service is switched off for the whole tenant, so no user's switch can change.")
	case len(r) > 1 && r[1] == "ConditionalCheckFailed":
		return latchkey.Errorf(latchkey.ENotFound, "User not found.")
	case err != nil:
		return fmt.Errorf("set self-serve: %w", err)
	}
	return nil
}
