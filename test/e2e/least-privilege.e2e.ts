import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { Kubectl } from "../support/walkthrough.ts";
import { createTestNamespace, deleteNamespace, type Kube, kube } from "./support/kube.ts";
import { e2eKubectl } from "./support/kubectl.ts";

const repoRoot = path.resolve(import.meta.dirname, "../..");
const expectations = path.join(import.meta.dirname, "expectations", "least-privilege");

/** Every ServiceAccount we ship, with the RBAC files that grant it rights (as their kustomizations apply them). */
const ACCOUNTS = [
  {
    name: "validator",
    account: "volume-data-source-validator",
    files: ["validator/deploy/rbac.yaml", "validator/deploy/leader-election-rbac.yaml"],
  },
  {
    name: "validator-webhook",
    account: "volume-data-source-validator",
    files: [
      "validator/deploy/rbac.yaml",
      "validator/deploy/leader-election-rbac.yaml",
      "validator/deploy/webhook/rbac.yaml",
    ],
  },
  { name: "hello", account: "hello-account", files: ["populator-hello/deploy/rbac.yaml"] },
  { name: "image", account: "image-populator", files: ["populator-image/deploy/rbac.yaml"] },
  {
    name: "fastpath-controller",
    account: "csi-fastpath-controller",
    files: ["populator-csi-fastpath/deploy/rbac.yaml"],
  },
  {
    name: "fastpath-backend",
    account: "csi-fastpath-backend",
    files: ["populator-csi-fastpath/deploy/rbac.yaml"],
  },
] as const;

/** Which accounts may touch Secrets, and why (docs/reliability.md says the same). */
const SECRET_READERS: Record<string, string> = {
  "validator-webhook": "its serving certificate's Secret, in its own namespace",
  image: "pull secrets an ImageSource names (copied into the populator namespace for the populator pod)",
};

const NAMESPACED_KINDS = new Set(["ServiceAccount", "Role", "RoleBinding"]);

/** The one namespace each package's namespaced RBAC may live in (its namespace.yaml's). */
const PACKAGE_NAMESPACE: Record<string, string> = {
  validator: "volpop-system",
  "populator-hello": "hello",
  "populator-image": "volpop-image",
  "populator-csi-fastpath": "volpop-fastpath",
};

/**
 * The RBAC of `files` moved into `namespace`, cluster-scoped names given `suffix`: each account is
 * examined alone, whatever other suites installed under the shipped names.
 */
function isolatedRbac(files: readonly string[], namespace: string, suffix: string): string {
  const out: unknown[] = [];
  for (const file of files) {
    for (const document of parseAllDocuments(
      fs.readFileSync(path.join(repoRoot, "packages", file), "utf8"),
    )) {
      const object = document.toJS() as {
        kind: string;
        metadata: { name: string; namespace?: string; labels?: Record<string, string> };
        subjects?: Array<{ kind: string; name: string; namespace?: string }>;
        roleRef?: { kind: string; name: string };
        aggregationRule?: unknown;
      } | null;
      if (object === null) continue;
      // Grants this test could not see: to groups (every account, every ServiceAccount of a
      // namespace) or rules merged in later by aggregation. Shipping one is a widening in itself.
      for (const subject of object.subjects ?? [])
        if (subject.kind !== "ServiceAccount")
          throw new Error(
            `${file}: ${object.metadata.name} binds ${subject.kind} ${subject.name}, not a ServiceAccount`,
          );
      if (object.aggregationRule !== undefined)
        throw new Error(`${file}: ${object.metadata.name} aggregates other ClusterRoles`);
      if (Object.keys(object.metadata.labels ?? {}).some((label) => label.includes("aggregate-to-")))
        throw new Error(`${file}: ${object.metadata.name} aggregates into a built-in ClusterRole`);
      if (
        object.metadata.namespace !== undefined &&
        object.metadata.namespace !== PACKAGE_NAMESPACE[file.split("/")[0] ?? ""]
      )
        throw new Error(
          `${file}: ${object.metadata.name} is in namespace ${object.metadata.namespace}, not its package's`,
        );
      if (NAMESPACED_KINDS.has(object.kind)) object.metadata.namespace = namespace;
      else object.metadata.name += suffix;
      for (const subject of object.subjects ?? [])
        if (subject.kind === "ServiceAccount") subject.namespace = namespace;
      if (object.roleRef?.kind === "ClusterRole") object.roleRef.name += suffix;
      out.push(object);
    }
  }
  return out.map((o) => JSON.stringify(o)).join("\n---\n");
}

/** `kubectl auth can-i --list`'s table as one line per row: `resources [names] [verbs]` or `url [verbs]`. */
function parseCanIList(table: string): string[] {
  const [header = "", ...rows] = table.split("\n").filter((line) => line.trim() !== "");
  const columns = ["Resources", "Non-Resource URLs", "Resource Names", "Verbs"].map((title) =>
    header.indexOf(title),
  );
  return rows.map((row) => {
    const cells = columns.map((start, i) => row.slice(start, columns[i + 1] ?? row.length).trim());
    const [resource = "", url = "", names = "", verbs = ""] = cells;
    return url !== "[]" && url !== "" ? `url ${url} ${verbs}` : `${resource} names=${names} ${verbs}`;
  });
}

describe("least privilege: what each shipped ServiceAccount may do", () => {
  let api: Kube;
  let kubectl: Kubectl;
  const namespaces: string[] = [];
  const clusterObjects: string[] = [];

  beforeAll(() => {
    api = kube();
    kubectl = e2eKubectl();
  });
  afterAll(async () => {
    for (const object of clusterObjects) await kubectl(["delete", object, "--ignore-not-found"]);
    for (const ns of namespaces) await deleteNamespace(api, ns);
  });

  const canI = async (account: string, home: string, where: string) =>
    parseCanIList(
      await kubectl([
        "auth",
        "can-i",
        "--list",
        `--as=system:serviceaccount:${home}:${account}`,
        "-n",
        where,
      ]),
    );

  it.each(ACCOUNTS)(
    "$name ($account) has exactly the rights its expectation file lists",
    async ({ name, account, files }) => {
      const home = await createTestNamespace(api, "lp");
      const elsewhere = await createTestNamespace(api, "lp-user");
      namespaces.push(home, elsewhere);
      // What every account of this cluster may do (discovery, self reviews) is not ours: asked of an
      // account with no bindings BEFORE our RBAC exists, so that nothing of ours hides in it.
      await kubectl(["-n", home, "create", "serviceaccount", "nobody"]);
      const baselines = new Map<string, Set<string>>();
      for (const where of [home, elsewhere]) baselines.set(where, new Set(await canI("nobody", home, where)));
      const suffix = `-lp-${randomBytes(3).toString("hex")}`;
      const applied = await kubectl(["apply", "-o", "name", "-f", "-"], isolatedRbac(files, home, suffix));
      clusterObjects.push(...applied.split("\n").filter((line) => line.startsWith("clusterrole")));
      // The authorizer learns of new RBAC from its informers: give it a moment.
      await sleep(1500);
      const granted = async (where: string) => {
        const baseline = baselines.get(where) ?? new Set<string>();
        return [...new Set(await canI(account, home, where))].filter((row) => !baseline.has(row)).sort();
      };
      const actual = [
        "# in its own namespace",
        ...(await granted(home)),
        "# in any other namespace",
        ...(await granted(elsewhere)),
        "",
      ].join("\n");

      for (const row of actual.split("\n").filter((line) => !line.startsWith("#"))) {
        expect(row, "no wildcard verbs or resources").not.toMatch(/(^|\s|\[)\*(\.|\s|\]|$)/);
      }
      const readsSecrets = /^secrets(\s|\.)/m.test(actual);
      expect(readsSecrets ? name : undefined, SECRET_READERS[name] ?? "no Secrets for this account").toBe(
        name in SECRET_READERS ? name : undefined,
      );

      const file = path.join(expectations, `${name}.txt`);
      if (process.env.VOLPOP_UPDATE_EXPECTATIONS === "1") fs.writeFileSync(file, actual);
      expect(
        fs.existsSync(file),
        `${file} is missing: run with VOLPOP_UPDATE_EXPECTATIONS=1 and review it`,
      ).toBe(true);
      // A widening fails here: review it, and update the file in the same change that grants it.
      expect(actual).toBe(fs.readFileSync(file, "utf8"));
    },
  );
});
