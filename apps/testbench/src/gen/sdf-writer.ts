/**
 * A small system description built in the order sdfgen builds one, rendered as sdfgen renders
 * it (au-ts/microkit_sdf_gen `src/sdf.zig`, facts only): memory regions, then protection
 * domains, then channels, in the order they were added; four-space indents; attributes in
 * sdfgen's order, optional ones only when set; sizes and addresses in lower-case hex.
 */

export interface GenRegion {
  readonly name: string;
  readonly size: bigint;
  readonly physAddr?: bigint;
}

export interface GenMap {
  readonly mr: GenRegion;
  readonly vaddr: bigint;
  readonly perms: string;
  readonly cached?: boolean;
}

export interface GenIrq {
  readonly irq: number;
  readonly id: number;
  readonly trigger: "level" | "edge";
}

export interface GenVm {
  readonly name: string;
  readonly priority?: number;
  readonly vcpus: readonly number[];
  readonly maps: GenMap[];
}

export class GenPd {
  readonly maps: GenMap[] = [];
  readonly irqs: GenIrq[] = [];
  vm?: GenVm;
  /** Channel and IRQ ids in use (sdfgen's `channel_ids` bit set). */
  private readonly ids = new Set<number>();

  constructor(
    readonly name: string,
    readonly programImage: string,
    readonly sched: { readonly priority?: number; readonly stackSize?: bigint } = {},
  ) {}

  /** The lowest free id, as sdfgen's `allocateId` hands them out. */
  allocateId(): number {
    let id = 0;
    while (this.ids.has(id)) id++;
    if (id > 61) throw new RangeError(`protection domain '${this.name}' has no channel id left`);
    this.ids.add(id);
    return id;
  }

  /**
   * sdfgen's `getMapVaddr`: from 0x2000_0000, past the end of every map at or above the
   * candidate, rounded up to the new region's page size (2 MiB when its size is a multiple).
   */
  nextVaddr(mr: GenRegion): bigint {
    const page = mr.size % LARGE_PAGE === 0n ? LARGE_PAGE : SMALL_PAGE;
    let next = 0x2000_0000n;
    for (const map of this.maps) {
      if (map.vaddr >= next) {
        next = map.vaddr + map.mr.size;
        if (next % page !== 0n) next += page - (next % page);
      }
    }
    return next;
  }

  mapNext(mr: GenRegion, perms = "rw", cached?: boolean): GenMap {
    const map: GenMap = {
      mr,
      vaddr: this.nextVaddr(mr),
      perms,
      ...(cached === undefined ? {} : { cached }),
    };
    this.maps.push(map);
    return map;
  }
}

const SMALL_PAGE = 0x1000n;
const LARGE_PAGE = 0x20_0000n;

export interface GenChannel {
  readonly a: GenPd;
  readonly aId: number;
  readonly b: GenPd;
  readonly bId: number;
}

/** Regions, PDs and channels in the order added; `render` writes them as sdfgen does. */
export class GenSystem {
  readonly regions: GenRegion[] = [];
  readonly pds: GenPd[] = [];
  readonly channels: GenChannel[] = [];

  region(name: string, size: bigint, physAddr?: bigint): GenRegion {
    const mr: GenRegion = { name, size, ...(physAddr === undefined ? {} : { physAddr }) };
    this.regions.push(mr);
    return mr;
  }

  pd(pd: GenPd): GenPd {
    this.pds.push(pd);
    return pd;
  }

  /** sdfgen's `Channel.create(a, b)`: each end takes its PD's lowest free id. */
  channel(a: GenPd, b: GenPd): GenChannel {
    const ch = { a, aId: a.allocateId(), b, bId: b.allocateId() };
    this.channels.push(ch);
    return ch;
  }

  render(): string {
    const out = ['<?xml version="1.0" encoding="UTF-8"?>', "<system>"];
    const hex = (n: bigint) => `0x${n.toString(16)}`;
    for (const mr of this.regions) {
      const paddr = mr.physAddr === undefined ? "" : ` phys_addr="${hex(mr.physAddr)}"`;
      out.push(`    <memory_region name="${mr.name}" size="${hex(mr.size)}"${paddr} />`);
    }
    const map = (indent: string, m: GenMap) =>
      `${indent}<map mr="${m.mr.name}" vaddr="${hex(m.vaddr)}" perms="${m.perms}"${m.cached === undefined ? "" : ` cached="${m.cached}"`} />`;
    for (const pd of this.pds) {
      const { priority, stackSize } = pd.sched;
      out.push(
        `    <protection_domain name="${pd.name}"${priority === undefined ? "" : ` priority="${priority}"`}${stackSize === undefined ? "" : ` stack_size="${hex(stackSize)}"`}>`,
        `        <program_image path="${pd.programImage}" />`,
      );
      for (const m of pd.maps) out.push(map("        ", m));
      if (pd.vm !== undefined) {
        const vm = pd.vm;
        out.push(
          `        <virtual_machine name="${vm.name}"${vm.priority === undefined ? "" : ` priority="${vm.priority}"`}>`,
        );
        for (const id of vm.vcpus) out.push(`            <vcpu id="${id}" />`);
        for (const m of vm.maps) out.push(map("            ", m));
        out.push("        </virtual_machine>");
      }
      for (const irq of pd.irqs) {
        out.push(`        <irq irq="${irq.irq}" id="${irq.id}" trigger="${irq.trigger}" />`);
      }
      out.push("    </protection_domain>");
    }
    for (const ch of this.channels) {
      out.push(
        "    <channel>",
        `        <end pd="${ch.a.name}" id="${ch.aId}" />`,
        `        <end pd="${ch.b.name}" id="${ch.bId}" />`,
        "    </channel>",
      );
    }
    out.push("</system>");
    return `${out.join("\n")}\n`;
  }
}
