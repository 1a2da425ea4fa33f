/**
 * Reads the nodes of a serialized ONNX model back, in the order they are stored: what onnxruntime
 * writes as its optimized model (`optimizedModelPath`) lists them in the order it runs them.
 */

/** A node as stored: its op and the names of its inputs and outputs. */
export interface StoredNode {
  readonly name: string;
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

function* fields(b: Uint8Array): Generator<[number, Uint8Array | null]> {
  let p = 0;
  const varint = (): number => {
    let v = 0;
    for (let scale = 1; ; scale *= 128) {
      const byte = b[p++];
      v += (byte & 0x7f) * scale;
      if (byte < 0x80) return v;
    }
  };
  while (p < b.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      const n = varint();
      yield [Math.floor(key / 8), b.subarray(p, p + n)];
      p += n;
      continue;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    yield [Math.floor(key / 8), null];
  }
}

/** The nodes of `model` (ModelProto bytes) in stored order. */
export function storedNodes(model: Uint8Array): StoredNode[] {
  const text = new TextDecoder();
  const nodes: StoredNode[] = [];
  for (const [field, graph] of fields(model)) {
    if (field !== 7 || !graph) continue; // ModelProto.graph
    for (const [gf, node] of fields(graph)) {
      if (gf !== 1 || !node) continue; // GraphProto.node
      const n = { name: '', op: '', inputs: [] as string[], outputs: [] as string[] };
      for (const [nf, v] of fields(node)) {
        if (!v) continue;
        if (nf === 1) n.inputs.push(text.decode(v));
        else if (nf === 2) n.outputs.push(text.decode(v));
        else if (nf === 3) n.name = text.decode(v);
        else if (nf === 4) n.op = text.decode(v);
      }
      nodes.push(n);
    }
  }
  return nodes;
}
