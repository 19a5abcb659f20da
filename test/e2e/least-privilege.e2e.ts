import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
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
        metadata: { name: string; namespace?: string };
        subjects?: Array<{ kind: string; namespace?: string }>;
        roleRef?: { kind: string; name: string };
      } | null;
      if (object === null) continue;
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
      const suffix = `-lp-${randomBytes(3).toString("hex")}`;
      const applied = await kubectl(["apply", "-o", "name", "-f", "-"], isolatedRbac(files, home, suffix));
      clusterObjects.push(...applied.split("\n").filter((line) => line.startsWith("clusterrole")));
      await kubectl(["-n", home, "create", "serviceaccount", "nobody"]);

      // What every authenticated account may do on this cluster (discovery, self reviews) is not ours.
      const granted = async (where: string) => {
        const baseline = new Set(await canI("nobody", home, where));
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
