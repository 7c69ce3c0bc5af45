/**
 * `vmmux guest-assets [dir]`: fetch the real guest's Debian packages by name, check their
 * hashes and build its boot files into the cache (`@vmmux/v86-guest`'s `fetchGuestAssets`;
 * nothing is committed). Scenarios with a `real` guest need them.
 */
import type { Command } from "commander";
import type { Io } from "../commands.js";
import { visibleControls } from "../terminal-queries.js";
import { ExitRequest } from "./common.js";

export function registerGuestAssetsCommand(program: Command, io: Io): void {
  program
    .command("guest-assets")
    .description(
      "fetch and build the real Linux guest's boot files (Debian packages by name, hash-checked)",
    )
    .argument(
      "[dir]",
      "where to put them (default ~/.cache/vmmux/guest-assets or $VMMUX_GUEST_ASSETS)",
    )
    .action(async (dir: string | undefined) => {
      const v86 = await import("@vmmux/v86-guest");
      try {
        const paths = v86.fetchGuestAssets(dir ?? v86.guestAssetDir(), (line) =>
          io.err(`${visibleControls(line)}\n`),
        );
        io.out(`ready: ${visibleControls(paths.dir)}\n`);
      } catch (error) {
        if (!(error instanceof v86.GuestAssetError)) throw error;
        io.err(`vmmux guest-assets: ${visibleControls(error.message)}\n`);
        throw new ExitRequest(1);
      }
    });
}
