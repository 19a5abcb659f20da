/**
 * An htpasswd line for the registry's `auth.htpasswd`, which accepts bcrypt only. Made by the C
 * library's crypt(3) through Perl (Debian's libxcrypt does bcrypt, and perl-base is always
 * installed), or by `htpasswd -B` from apache2-utils where that exists.
 */
import { execFile } from "node:child_process";
import { randomInt } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);
const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
const SALT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** Low cost: the registry checks the hash on every request, and these are test passwords. */
const COST = "05";

/** `user:<bcrypt hash>`, one line of an htpasswd file. */
export async function htpasswdLine(user: string, password: string): Promise<string> {
  if (user.includes(":")) throw new Error("an htpasswd user name cannot contain ':'");
  return `${user}:${await bcrypt(password)}`;
}

async function bcrypt(password: string): Promise<string> {
  // The 22nd salt character holds only two bits; crypt(3) wants one whose unused bits are zero.
  let salt = "";
  for (let i = 0; i < 21; i++) salt += SALT_ALPHABET[randomInt(SALT_ALPHABET.length)];
  salt += ".Oeu"[randomInt(4)];
  const failures: string[] = [];
  try {
    const { stdout } = await run("perl", ["-e", "print crypt($ENV{VOLPOP_PASSWORD}, $ENV{VOLPOP_SALT})"], {
      env: { ...process.env, VOLPOP_PASSWORD: password, VOLPOP_SALT: `$2b$${COST}$${salt}` },
    });
    if (BCRYPT.test(stdout)) return stdout;
    failures.push("perl crypt() did not return a bcrypt hash");
  } catch (error) {
    failures.push(`perl: ${(error as Error).message}`);
  }
  try {
    const { stdout } = await run("htpasswd", ["-nbB", "-C", String(Number(COST)), "x", password]);
    const hash = stdout.trim().slice(2);
    if (BCRYPT.test(hash)) return hash;
    failures.push("htpasswd did not return a bcrypt hash");
  } catch (error) {
    failures.push(`htpasswd: ${(error as Error).message}`);
  }
  throw new Error(`cannot make a bcrypt hash (${failures.join("; ")}); install perl or apache2-utils`);
}
