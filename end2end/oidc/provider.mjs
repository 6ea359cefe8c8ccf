// A real, certified OpenID provider for the browser tests: npm's `oidc-provider` (panva),
// on loopback, with a few users and groups. Its development login form takes any
// password; the account is the login typed.
//
// Besides the provider's own routes, `/test/*` lets a test change the world as an
// identity provider's admin would (a user's groups) or stand in for an attacker between
// the provider and Kiln: `POST /test/tamper?mode=…` re-signs the next ID tokens the token
// endpoint answers (a forged signature, an unknown key, an expired token, another issuer,
// another audience) or rotates the provider's signing key.
import { createServer } from "node:http";
import Provider from "oidc-provider";
import * as jose from "jose";

const port = Number(process.argv[2] ?? 3910);
const kiln = process.argv[3] ?? "http://127.0.0.1:3901";
const issuer = `http://127.0.0.1:${port}`;

async function signingKey(kid) {
  const { privateKey } = await jose.generateKeyPair("RS256", { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  return { ...jwk, kid, alg: "RS256", use: "sig" };
}
const publicOf = ({ d, p, q, dp, dq, qi, ...rest }) => rest;

const first = await signingKey("k1");
// Keys only the tampering routes use: one the provider will publish when it "rotates",
// one it never publishes, and an impostor reusing the published key's id.
const rotated = await signingKey("k2");
const unpublished = await signingKey("k9");
const impostor = await signingKey("k1");

// The directory: who is in which group. Tests change it through /test/users.
const users = {
  ann: { preferred_username: "ann", email: "ann@example.org", groups: ["oidc-ml"] },
  boss: { preferred_username: "boss", email: "boss@example.org", groups: ["kiln-admins"] },
  cam: { preferred_username: "cam", email: "cam@example.org", groups: ["/oidc-ml", "oidc-cv"] },
  // Another person at the provider whose user name is ann's.
  mallory: { preferred_username: "ann", email: "mallory@example.org", groups: [] },
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "kiln",
      client_secret: "kiln-test-secret",
      redirect_uris: [`${kiln}/auth/oidc/callback`],
      post_logout_redirect_uris: [`${kiln}/login`],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  jwks: { keys: [first] },
  pkce: { required: () => true },
  scopes: ["openid", "profile", "email", "groups"],
  claims: {
    openid: ["sub"],
    profile: ["preferred_username"],
    email: ["email"],
    groups: ["groups"],
  },
  // The requested claims go in the ID token itself, where Kiln reads them.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  cookies: { keys: ["kiln-e2e-provider-cookies"] },
  async findAccount(ctx, id) {
    if (!users[id]) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...users[id] }) };
  },
  // Kiln is a first-party client: no consent screen.
  async loadExistingGrant(ctx) {
    const { Grant } = ctx.oidc.provider;
    const grantId = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return Grant.find(grantId);
    const grant = new Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid profile email groups");
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

let tamper = "none";
let publishRotated = false;

async function resign(idToken) {
  const claims = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = first;
  switch (tamper) {
    case "forged": key = impostor; break;
    case "unknown-key": key = unpublished; break;
    case "rotated": key = rotated; break;
    case "expired": Object.assign(claims, { iat: now - 7200, exp: now - 3600 }); break;
    case "issuer": claims.iss = "http://127.0.0.1:1/not-the-issuer"; break;
    case "audience": claims.aud = "another-client"; break;
    default: return idToken;
  }
  const privateKey = await jose.importJWK(key, "RS256");
  return new jose.SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: key.kid }).sign(privateKey);
}

provider.use(async (ctx, next) => {
  if (ctx.path === "/test/tamper" && ctx.method === "POST") {
    tamper = ctx.query.mode ?? "none";
    if (tamper === "rotated") publishRotated = true;
    ctx.body = { tamper };
    return;
  }
  if (ctx.path.startsWith("/test/users/") && ctx.method === "POST") {
    const id = ctx.path.slice("/test/users/".length);
    const groups = String(ctx.query.groups ?? "").split(",").filter(Boolean);
    users[id] = { ...(users[id] ?? { preferred_username: id }), groups };
    ctx.body = users[id];
    return;
  }
  await next();
  if (ctx.path === "/token" && ctx.status === 200 && ctx.body?.id_token) {
    ctx.body = { ...ctx.body, id_token: await resign(ctx.body.id_token) };
  }
  if (ctx.path === "/jwks" && publishRotated && ctx.body?.keys) {
    ctx.body = { keys: [...ctx.body.keys, publicOf(rotated)] };
  }
});

createServer(provider.callback()).listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
