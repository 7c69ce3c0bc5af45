/**
 * Planted bug for the report's escaping property: the embedded data written with plain
 * `JSON.stringify`, which leaves `</script>` in guest output able to end the data element and
 * inject markup. `html.prop.test.ts` asserts its property fails on this variant.
 */
import { type HtmlReportInput, renderHtmlReportWith } from "../report/html.js";

export function renderHtmlReportUnescapedData(input: HtmlReportInput): string {
  return renderHtmlReportWith(input, (value) => JSON.stringify(value));
}
