"""A new user's address: what an administrator learns when it is taken, and the name
customers will see."""

from tests.api.harness import Server


async def test_an_address_of_another_account_is_refused_like_one_of_this_account(
    server: Server,
) -> None:
    await server.tenant("Acme", "boss@acme.test")
    other = await server.tenant("Globex", "hank@globex.test")
    await server.user(other, "secret.agent@globex.test")
    admin = server.client()
    await admin.login("boss@acme.test")
    await admin.post(
        "/api/users", {"email": "bob@acme.test", "role": "agent", "password": "bobs-pass-9"}
    )

    def new(email: str) -> dict[str, str]:
        return {"email": email, "role": "agent", "password": "bobs-pass-9"}

    own = await admin.post("/api/users", new("bob@acme.test"))
    foreign = await admin.post("/api/users", new("secret.agent@globex.test"))
    assert own.status == foreign.status == 409
    assert own.body == foreign.body
    assert "globex" not in foreign.raw.decode().lower()
    assert "exists" not in foreign.body["message"]


async def test_a_new_user_gets_a_display_name_from_the_address(server: Server) -> None:
    tenant_id = await server.tenant("Acme", "boss@acme.test")
    user_id = await server.user(tenant_id, "anna.de-vries@acme.test")
    user = await server.ctx.store.scoped(tenant_id).get_user(user_id)
    assert user is not None
    assert user.display_name == "Anna De Vries"


async def test_an_administrator_names_a_new_user(server: Server) -> None:
    await server.tenant("Acme", "boss@acme.test")
    admin = server.client()
    await admin.login("boss@acme.test")
    body = {"email": "bob@acme.test", "role": "agent", "password": "bobs-pass-9"}
    bad = await admin.post("/api/users", {**body, "display_name": "Bob\u0007"})
    assert bad.status == 400
    assert "control characters" in bad.body["message"]
    created = await admin.post("/api/users", {**body, "display_name": "  Bob  Builder "})
    assert created.status == 201
    assert created.body["user"]["display_name"] == "Bob Builder"
    listed = await admin.get("/api/users")
    assert {u["email"]: u["display_name"] for u in listed.body["users"]}["bob@acme.test"] == (
        "Bob Builder"
    )
