/**
 * A planted bug for `keys.prop.test.ts`: a host escape that forgets a `Ctrl+]` at the end of
 * one chunk, as a filter that keeps its state per read would. A terminal that delivers
 * `Ctrl+]` and the next key in two reads then loses the key's meaning: `Ctrl+] Ctrl+]`
 * types nothing and `Ctrl+] q` types `q`.
 */
import { HostEscape } from "../live/keys.js";

export class ChunkBlindHostEscape extends HostEscape {
  override feed(chunk: ArrayLike<number>) {
    const actions = super.feed(chunk);
    // Drops the pending escape that the real filter carries into the next chunk.
    super.end();
    return actions;
  }
}
