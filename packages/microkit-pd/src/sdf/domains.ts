/** `<domains>` and its `<domain_schedule>` (reference §1.3; checks #29, #30). */
import type { DomainState } from "./internal.js";
import type { SdfReader } from "./reader.js";
import type { Domain, DomainSchedule, ScheduleEntry, SourceLocation } from "./types.js";
import { attr, elementChildren, type XmlElement } from "./xml.js";

/** `<domains>` (#29, #30). */
export function parseDomains(r: SdfReader, node: XmlElement): DomainState {
  r.checkAttributes(node, []);
  if (r.config.numCores !== 1) {
    r.fail({
      code: "domains-multicore",
      rule: "#29",
      message: "Error: The domain scheduler is not supported in multicore builds of seL4",
      location: node.location,
      element: node.name,
    });
  }
  const declared: { name: string; id: number | undefined; location: SourceLocation }[] = [];
  const idToName = new Map<number, string>();
  let scheduleNode: XmlElement | undefined;
  for (const child of elementChildren(node)) {
    if (child.name === "domain") {
      r.checkAttributes(child, ["name", "id"]);
      const name = r.lookup(child, "name");
      const idRaw = attr(child, "id");
      let id: number | undefined;
      if (idRaw !== undefined) {
        const n = r.number(child, "id", idRaw);
        if (n >= BigInt(r.config.numDomains)) {
          r.valueError(
            child,
            "domain-id-range",
            "#29",
            `domain id ${n} should be less than the configured KernelNumDomains value of ${r.config.numDomains}`,
            "id",
          );
        }
        id = Number(n);
      }
      const existing = declared.find((d) => d.name === name);
      if (existing !== undefined) {
        const shown = existing.id === undefined ? "None" : `Some(${existing.id})`;
        r.valueError(
          child,
          "domain-name-duplicate",
          "#29",
          `Each <domain>'s name element must be unique found existing domain '${name}' with id '${shown}'`,
          "name",
        );
      }
      declared.push({ name, id, location: child.location });
      if (id !== undefined) {
        const other = idToName.get(id);
        if (other !== undefined) {
          r.valueError(
            child,
            "domain-id-duplicate",
            "#29",
            `Each <domain>'s id element must be unique found existing domain '${other}' with id '${id}'`,
            "id",
          );
        }
        idToName.set(id, name);
      }
    } else if (child.name === "domain_schedule") {
      if (scheduleNode !== undefined) {
        r.valueError(
          child,
          "domain-schedule-repeated",
          "#29",
          "The <domain_schedule> element can only appear once",
        );
      }
      scheduleNode = child;
    } else {
      r.fail({
        code: "domains-invalid-element",
        rule: "#29",
        message: `Error: invalid XML element as child of <domains> '${child.name}': ${r.loc(child)}`,
        location: child.location,
        element: child.name,
      });
    }
  }
  if (scheduleNode === undefined) {
    return r.valueError(
      node,
      "domain-schedule-missing",
      "#29",
      "The <domain_schedule> element must appear once",
    );
  }
  // Omitted ids take the smallest free id. The tool visits them in hash-map order (so the
  // assignment can differ between runs); the model uses document order. The search bound
  // includes `numDomains` itself, as the tool's `0..=num_domains` does.
  const domains: Domain[] = declared.map((d) => {
    if (d.id !== undefined) return { name: d.name, id: d.id, location: d.location };
    for (let i = 0; i <= r.config.numDomains; i++) {
      if (!idToName.has(i)) {
        idToName.set(i, d.name);
        return { name: d.name, id: i, location: d.location };
      }
    }
    return r.valueError(
      node,
      "domains-too-many",
      "#29",
      `Number of domains exceeds ${r.config.numDomains}`,
    );
  });
  return { domains, schedule: parseSchedule(r, scheduleNode, node, domains) };
}

function parseSchedule(
  r: SdfReader,
  node: XmlElement,
  domainsNode: XmlElement,
  domains: Domain[],
): DomainSchedule {
  r.checkAttributes(node, ["index_shift", "start_index"]);
  const startRaw = attr(node, "start_index");
  const startIndex = startRaw !== undefined ? r.number(node, "start_index", startRaw) : 0n;
  const shiftRaw = attr(node, "index_shift");
  const indexShift = shiftRaw !== undefined ? r.number(node, "index_shift", shiftRaw) : undefined;
  const schedule: ScheduleEntry[] = [];
  for (const child of elementChildren(node)) {
    if (child.name === "schedule_entry") {
      schedule.push(parseScheduleEntry(r, child, domains));
    } else if (child.name === "schedule_end_marker") {
      r.checkAttributes(child, []);
      schedule.push({ kind: "end-marker", location: child.location });
    } else {
      r.fail({
        code: "schedule-invalid-element",
        rule: "#30",
        message: `Error: invalid XML element as child of <domain_schedule> '${child.name}': ${r.loc(child)}`,
        location: child.location,
        element: child.name,
      });
    }
  }
  const n = BigInt(schedule.length);
  const max = BigInt(r.config.numDomainSchedules);
  if (n >= max) {
    r.fail({
      code: "schedule-too-long",
      rule: "#30",
      message: `More than configured KernelNumDomainSchedules ${max} number of <schedule_entry> elements found`,
      location: node.location,
      element: node.name,
    });
  }
  if (startIndex >= n) {
    r.valueError(
      node,
      "schedule-start-index",
      "#30",
      `schedule_start_index '${startIndex}' is greater than the length of the schedule '${n}'`,
      "start_index",
    );
  }
  if (indexShift !== undefined && indexShift + n >= max) {
    // The tool prints the start index here, not the shift (§1.5 #30).
    r.valueError(
      node,
      "schedule-index-shift",
      "#30",
      `schedule_index_shift '${startIndex}' on top of the schedule length '${n}' would exceed than the configured KernelNumDomainSchedules ${max}`,
      "index_shift",
    );
  }
  return {
    domains,
    schedule,
    startIndex: Number(startIndex),
    ...(indexShift !== undefined ? { indexShift: Number(indexShift) } : {}),
    location: domainsNode.location,
  };
}

function parseScheduleEntry(r: SdfReader, node: XmlElement, domains: Domain[]): ScheduleEntry {
  r.checkAttributes(node, ["domain", "duration"]);
  const domain = r.lookup(node, "domain");
  const durationText = r.lookup(node, "duration");
  if (!domains.some((d) => d.name === domain)) {
    r.valueError(
      node,
      "schedule-domain-unknown",
      "#30",
      `domain '${domain}' does not exist,`,
      "domain",
    );
  }
  const space = durationText.indexOf(" ");
  if (space < 0) {
    r.valueError(
      node,
      "duration-malformed",
      "#30",
      `The duration '${durationText}' must contain a value and a unit, e.g. '1000 us'`,
      "duration",
    );
  }
  const value = r.number(node, "duration", durationText.slice(0, space));
  if (value === 0n) {
    r.valueError(
      node,
      "duration-zero",
      "#30",
      `The duration '${durationText}' must be non-zero`,
      "duration",
    );
  }
  const unit = durationText.slice(space + 1);
  if (unit !== "us" && unit !== "ticks") {
    return r.valueError(
      node,
      "duration-unit",
      "#30",
      `The duration '${durationText}' must be in either 'ticks' or 'us'`,
      "duration",
    );
  }
  return { kind: "entry", domain, duration: Number(value), unit, location: node.location };
}

// ---------------------------------------------------------------- after the walk
