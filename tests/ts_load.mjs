// Loads a persist directory with LlamaIndex.TS and prints what it sees, as
// JSON: node count, a vector store query and a retriever query for the given
// query vector, and the index structs. Used by test_ts_load.py.
// Usage: node ts_load.mjs PERSIST_DIR '[q1, q2, ...]'
import { BaseEmbedding, Settings, storageContextFromDefaults, VectorStoreIndex } from "llamaindex";
const [persistDir, qvec] = process.argv.slice(2);
// No network: the query vector is given, so the embedding model only has to exist.
class GivenEmbedding extends BaseEmbedding {
  async getTextEmbedding() { return JSON.parse(qvec); }
}
Settings.embedModel = new GivenEmbedding();
const ctx = await storageContextFromDefaults({ persistDir });
const docs = await ctx.docStore.docs();
const vsKeys = Object.keys(ctx.vectorStores ?? {});
const vs = ctx.vectorStores[vsKeys[0]];
const res = await vs.query({ queryEmbedding: JSON.parse(qvec), similarityTopK: 3, mode: "default" });
const structs = await ctx.indexStore.getIndexStructs();
const index = await VectorStoreIndex.init({ storageContext: ctx });
const retrieved = await index.asRetriever({ similarityTopK: 3 }).retrieve({ query: "anything" });
console.log(JSON.stringify({ nodes: Object.keys(docs).length, stores: vsKeys, ids: res.ids, similarities: res.similarities,
  retrieved: retrieved.map((r) => [r.node.id_, r.score, r.node.getText().length]), indexes: structs.map((s) => [s.indexId, s.type, Object.keys(s.nodesDict ?? {}).length]) }));
