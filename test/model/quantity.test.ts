import { strict as assert } from "node:assert";
import { isQuantity, parseQuantity } from "../../model/quantity";

describe("Kubernetes quantities", () => {
  it("parses decimal and binary suffixes to base units", () => {
    assert.equal(parseQuantity("500m"), 0.5);
    assert.equal(parseQuantity("2"), 2);
    assert.equal(parseQuantity("1Gi"), 2 ** 30);
    assert.equal(parseQuantity("512Mi"), 512 * 2 ** 20);
    assert.equal(parseQuantity("1G"), 1e9);
    assert.equal(parseQuantity("1e3"), 1000);
    assert.equal(parseQuantity("1.5"), 1.5);
  });

  it("refuses what the API server refuses", () => {
    for (const bad of ["", "12GB", "1 Gi", "Gi", "1.2.3", "-1", "1gi", "0x10"]) {
      assert.equal(isQuantity(bad), false, bad);
    }
    assert.throws(() => parseQuantity("12GB"), /not a Kubernetes quantity/);
  });
});
