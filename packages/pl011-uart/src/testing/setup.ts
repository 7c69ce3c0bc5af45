/**
 * Helpers that program a {@link Pl011Device} directly, for tests that exercise the device
 * without the driver.
 */
import { Pl011Device, type Pl011Options } from "../device.js";
import { trmDivisor } from "../line.js";
import { Cr, LcrH, Reg } from "../registers.js";
import { FakeDeviceHost } from "./fake-host.js";

export interface DirectSetup {
  readonly host: FakeDeviceHost;
  readonly uart: Pl011Device;
}

/** Line settings for {@link programUart}. */
export interface LineSettings {
  readonly baud?: number;
  /** LCR_H value written last (default 8N1 with FIFOs: WLEN=3, FEN). */
  readonly lcrH?: number;
  readonly ifls?: number;
  readonly imsc?: number;
  readonly cr?: number;
}

/** Program divisor (TRM method), LCR_H, IFLS, IMSC and CR, in the TRM order. */
export function programUart(uart: Pl011Device, settings: LineSettings = {}): void {
  const d = trmDivisor(uart.uartClockHz, settings.baud ?? 115_200);
  uart.write(Reg.CR, 4, 0);
  uart.write(Reg.IBRD, 4, d.ibrd);
  uart.write(Reg.FBRD, 4, d.fbrd);
  uart.write(Reg.LCR_H, 4, settings.lcrH ?? (3 << LcrH.WLEN_SHIFT) | LcrH.FEN);
  uart.write(Reg.IFLS, 4, settings.ifls ?? 0x12);
  uart.write(Reg.IMSC, 4, settings.imsc ?? 0);
  uart.write(Reg.CR, 4, settings.cr ?? Cr.UARTEN | Cr.TXE | Cr.RXE);
}

/** A device on a fresh {@link FakeDeviceHost}, IRQ 33, optionally programmed. */
export function directUart(
  options: Partial<Omit<Pl011Options, "host" | "irq">> = {},
  settings: LineSettings | null = {},
): DirectSetup {
  const host = new FakeDeviceHost();
  const uart = new Pl011Device({ host, irq: 33, ...options });
  if (settings !== null) programUart(uart, settings);
  return { host, uart };
}
