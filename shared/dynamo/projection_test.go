package dynamo_test

import (
	"context"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/schema"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// expiryView is what the expiry notifier reads of a user found in GSI3.
type expiryView struct {
	TenantID, ID, PasswordExpiresOn, Email, Mobile string
	Notifiable, EmailSuppressed                    bool
}

func expiryViewOf(u *latchkey.User, st latchkey.Settings) expiryView {
	return expiryView{
		TenantID: u.TenantID, ID: u.ID, PasswordExpiresOn: u.PasswordExpiresOn, Email: u.Email, Mobile: u.Mobile,
		Notifiable: u.Notifiable(st), EmailSuppressed: u.EmailSuppressed(),
	}
}

// TestStore_IndexProjections proves, against DynamoDB Local with the
// table CreateTable makes, that every reader of an index gets from it what
// it would get from the item itself: users with every attribute set (PIN,
// PIN code, lock, bounce, complaint, self-serve use, expiry) and users with
// few, listed through GSI1 (ListUsers), GSI2 (ListUsers by registration
// status), with the list's filters, and GSI3 (UsersExpiringOn), show the
// same latchkey.UserView and notifier fields as GetUser gives; ListTenants
// gives the tenants as ReadTenant does; and no item in any index holds a
// secret attribute.
func TestStore_IndexProjections(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := testclock.New(now)
	db, table := testenv.NewTable(t)
	s := dynamo.New(db, table, clock.Now)

	tn := latchkey.Tenant{ID: "proj", Name: "Projections", Settings: latchkey.DefaultSettings(), CreatedAt: now}
	other := latchkey.Tenant{ID: "proj2", Name: "Other", Settings: latchkey.DefaultSettings(), CreatedAt: now.Add(time.Minute)}
	for _, x := range []latchkey.Tenant{tn, other} {
		if err := s.CreateTenant(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	at := func(d time.Duration) *time.Time { v := now.Add(d); return &v }
	expires := "2026-12-05"
	users := []latchkey.User{
		{ // every attribute set
			TenantID: tn.ID, ID: "u-full", Username: "Full.User", Email: "full@example.com", Mobile: "+15550100001",
			Roles: []latchkey.Role{latchkey.RoleUser, latchkey.RoleAdmin}, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
			SessionVersion: 3, PasswordChangedAt: now.Add(-time.Hour), Permissions: []string{"p1", "p2"}, Profiles: []string{"pr"},
			CompanyExceptions: []string{"c1"}, CreatedAt: now.Add(-48 * time.Hour), SponsorID: "u-sponsor", LastLoginAt: now.Add(-time.Minute),
			PINCodeMAC: "pin-code-mac", PINCodeSealed: "sealed-code", PINCodeSetAt: now.Add(-2 * time.Hour), LockedAt: at(-30 * time.Minute),
			PINMAC: "pin-mac", PINSetAt: at(-3 * time.Hour), PINSetByAdmin: true, SelfServe: true, PasswordExpiresOn: expires,
			AccessedSelfServeAt: at(-4 * time.Hour), WelcomeMAC: "welcome-mac", EmailBouncedAt: at(-5 * time.Hour), EmailComplainedAt: at(-6 * time.Hour),
		},
		{ // registered, notifiable, PIN set by the user
			TenantID: tn.ID, ID: "u-notify", Username: "notify", Email: "n@example.com", Mobile: "+15550100002",
			Roles: []latchkey.Role{latchkey.RoleUser}, PasswordHash: "h", CreatedAt: now.Add(-time.Hour), SelfServe: true,
			PINMAC: "pin-mac-2", PINSetAt: at(-time.Hour), PasswordExpiresOn: expires,
		},
		{ // few attributes
			TenantID: tn.ID, ID: "u-min", Username: "min", Email: "m@example.com", Roles: []latchkey.Role{latchkey.RoleAgent}, CreatedAt: now,
		},
		{ // another tenant's user, due the same day
			TenantID: other.ID, ID: "u-other", Username: "other", Email: "o@example.com", Mobile: "+15550100003",
			Roles: []latchkey.Role{latchkey.RoleUser}, CreatedAt: now, SelfServe: true, PasswordExpiresOn: expires,
		},
	}
	for _, u := range users {
		if err := s.CreateUser(ctx, u, nil, nil, latchkey.Event(u.TenantID, "operator", u.ID, latchkey.ActionUserCreate, latchkey.ResultSuccess, "")); err != nil {
			t.Fatalf("create %s: %v", u.ID, err)
		}
	}
	want := map[string]*latchkey.User{}
	for _, u := range users {
		got, err := s.GetUser(ctx, u.TenantID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		want[u.ID] = got
	}
	// The views must show what is set: a check that the fixture sets it.
	if v := want["u-full"].View(); !v.PINSet || !v.PINSetByAdmin || !v.PINCodeUser || !v.Locked || v.EmailStatus == "" || v.RegistrationStatus != latchkey.RegistrationAccessed {
		t.Fatalf("fixture: the full user's view %+v lacks what it should show", v)
	}

	sameViews := func(t *testing.T, got []latchkey.User, ids ...string) {
		t.Helper()
		var gotIDs []string
		for i := range got {
			gotIDs = append(gotIDs, got[i].ID)
			w, ok := want[got[i].ID]
			if !ok {
				t.Errorf("listed %s, not a user of the fixture", got[i].ID)
				continue
			}
			if g, w := got[i].View(), w.View(); !reflect.DeepEqual(g, w) {
				t.Errorf("user %s from the index:\n got %+v\nwant %+v (GetUser)", got[i].ID, g, w)
			}
		}
		sort.Strings(gotIDs)
		sort.Strings(ids)
		if !slices.Equal(gotIDs, ids) {
			t.Errorf("users: got %v, want %v", gotIDs, ids)
		}
	}
	yes, no := true, false
	for _, c := range []struct {
		name   string
		filter latchkey.UserFilter
		ids    []string
	}{
		{"GSI1 all", latchkey.UserFilter{}, []string{"u-full", "u-notify", "u-min"}},
		{"GSI1 self-serve", latchkey.UserFilter{SelfServe: &yes}, []string{"u-full", "u-notify"}},
		{"GSI1 locked", latchkey.UserFilter{Locked: &yes}, []string{"u-full"}},
		{"GSI1 not locked", latchkey.UserFilter{Locked: &no}, []string{"u-notify", "u-min"}},
		{"GSI2 accessed", latchkey.UserFilter{RegistrationStatus: latchkey.RegistrationAccessed}, []string{"u-full"}},
		{"GSI2 complete", latchkey.UserFilter{RegistrationStatus: latchkey.RegistrationComplete}, []string{"u-notify"}},
		{"GSI2 not registered, not self-serve", latchkey.UserFilter{RegistrationStatus: latchkey.RegistrationNotRegistered, SelfServe: &no}, []string{"u-min"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := s.ListUsers(ctx, tn.ID, c.filter, "", 50)
			if err != nil {
				t.Fatal(err)
			}
			sameViews(t, got, c.ids...)
		})
	}

	t.Run("GSI3 expiring", func(t *testing.T) {
		got, err := s.UsersExpiringOn(ctx, tn.ID, expires)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for i := range got {
			ids = append(ids, got[i].ID)
			if g, w := expiryViewOf(&got[i], tn.Settings), expiryViewOf(want[got[i].ID], tn.Settings); g != w {
				t.Errorf("user %s from GSI3:\n got %+v\nwant %+v (GetUser)", got[i].ID, g, w)
			}
		}
		sort.Strings(ids)
		if w := []string{"u-full", "u-notify"}; !slices.Equal(ids, w) {
			t.Errorf("users: got %v, want %v", ids, w)
		}
	})

	t.Run("GSI1 tenants", func(t *testing.T) {
		got, err := s.ListTenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("tenants: got %d, want 2", len(got))
		}
		for i := range got {
			w, err := s.ReadTenant(ctx, got[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got[i], *w) {
				t.Errorf("tenant %s from GSI1:\n got %+v\nwant %+v (ReadTenant)", got[i].ID, got[i], *w)
			}
		}
	})

	t.Run("no secret in any index", func(t *testing.T) {
		n := 0
		for _, ix := range schema.Schema.Indexes {
			p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: &table, IndexName: aws.String(ix.Name)})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range page.Items {
					n++
					for _, a := range schema.SecretAttributes {
						if _, ok := it[a]; ok {
							t.Errorf("%s holds %s of item %v", ix.Name, a, it[schema.AttrPK])
						}
					}
					if _, ok := it["lastLoginAt"]; ok {
						t.Errorf("%s holds lastLoginAt of item %v", ix.Name, it[schema.AttrPK])
					}
				}
			}
		}
		// GSI1: 4 users and 2 tenants; GSI2: 4 users; GSI3: 3 users.
		if n != 13 {
			t.Errorf("index items: got %d, want 13", n)
		}
	})
}

// TestCreateTable_ReplacesChangedProjection proves that CreateTable, given
// an existing local table whose indexes project ALL (as before the
// projections were narrowed), replaces each index with schema.Schema's
// projection, keeping the items: a user written before is listed after.
func TestCreateTable_ReplacesChangedProjection(t *testing.T) {
	ctx := context.Background()
	db, table := testenv.NewTable(t)
	// Drop the table NewTable made and make it again the old way.
	if _, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &table}); err != nil {
		t.Fatal(err)
	}
	in := &dynamodb.CreateTableInput{
		TableName: &table, BillingMode: types.BillingModePayPerRequest,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(schema.AttrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(schema.AttrSK), KeyType: types.KeyTypeRange},
		},
	}
	attrs := []string{schema.AttrPK, schema.AttrSK}
	for _, ix := range schema.Schema.Indexes {
		attrs = append(attrs, ix.Keys.PartitionKey, ix.Keys.SortKey)
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(ix.Name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(ix.Keys.PartitionKey), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(ix.Keys.SortKey), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	for _, a := range attrs {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(a), AttributeType: types.ScalarAttributeTypeS})
	}
	if _, err := db.CreateTable(ctx, in); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s := dynamo.New(db, table, func() time.Time { return now })
	if err := s.CreateTenant(ctx, latchkey.Tenant{ID: "old", Name: "Old", Settings: latchkey.DefaultSettings(), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	u := latchkey.User{TenantID: "old", ID: "u1", Username: "kept", Email: "k@example.com", Roles: []latchkey.Role{latchkey.RoleUser}, PasswordHash: "h", CreatedAt: now}
	if err := s.CreateUser(ctx, u, nil, nil, latchkey.Event("old", "operator", "u1", latchkey.ActionUserCreate, latchkey.ResultSuccess, "")); err != nil {
		t.Fatal(err)
	}

	if err := dynamo.CreateTable(ctx, db, table); err != nil {
		t.Fatalf("CreateTable on the old table: %v", err)
	}
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	for _, ix := range schema.Schema.Indexes {
		var got *types.Projection
		for _, g := range desc.Table.GlobalSecondaryIndexes {
			if aws.ToString(g.IndexName) == ix.Name {
				got = g.Projection
			}
		}
		if got == nil {
			t.Errorf("%s: gone, want it made again", ix.Name)
			continue
		}
		a, b := slices.Clone(got.NonKeyAttributes), slices.Clone(ix.Projection.NonKeyAttributes)
		sort.Strings(a)
		sort.Strings(b)
		if string(got.ProjectionType) != string(ix.Projection.Type) || !slices.Equal(a, b) {
			t.Errorf("%s: got %s %v, want %s %v", ix.Name, got.ProjectionType, a, ix.Projection.Type, b)
		}
	}
	listed, _, err := s.ListUsers(ctx, "old", latchkey.UserFilter{}, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].ID != "u1" || listed[0].PasswordHash != "" {
		t.Errorf("ListUsers after the new index: got %+v, want u1 without its hash", listed)
	}
}
