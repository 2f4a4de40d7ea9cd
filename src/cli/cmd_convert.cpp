// lstore convert SRC DST: copy a whole store through the model to another
// backend (a plain copy streams the large files instead of holding them).
// Unchanged records are written back byte for byte; --verify reads the
// destination back and compares it with the source by meaning.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "lstore/backend.hpp"
#include "lstore/dialect.hpp"
#include "lstore/diff.hpp"
#include "lstore/error.hpp"
#include "lstore/faiss.hpp"
#include "core/fileio.hpp"
#include "progress_bar.hpp"
#include "streamed_reader.hpp"
#include "write_guard.hpp"

namespace lstore::cli {
namespace {

struct ConvertOptions {
  std::string src;
  std::string dst;
  bool force = false;
  bool dry_run = false;
  bool verify = false;
  double wait = 0;
  std::string dialect;  // python | ts; empty: the source's
  bool upgrade = false;
  bool strict = false;  // any note of a loss is an error
  std::string vectors;  // faiss | faiss-ip | simple; empty: as the source
  std::optional<int> dim;  // for --vectors faiss of a store without vectors
};

// --dry-run: the files that would be written.
const Schema kPlannedFile{"planned_file", {{"id", "FILE"}, {"kind", "KIND"}, {"bytes", "BYTES"}}};
const Schema kConverted{"convert_result", {{"source"}, {"destination"}, {"files"}, {"verified"}}};

// Targets that write a streamed store (Store::streamed) as the loaded one:
// sqlite:, jsonl: and a directory. A file given on its own is rewritten from
// its model, and the server backends are not streamed yet.
bool streams_into(const std::string& dst) {
  if (dst.rfind("sqlite:", 0) == 0 || dst.rfind("jsonl:", 0) == 0) return true;
  if (dst.find("://") != std::string::npos) return false;
  std::error_code ec;
  return !std::filesystem::is_regular_file(dst, ec);
}

}  // namespace

CommandSpec add_convert(CLI::App& parent) {
  auto opts = std::make_shared<ConvertOptions>();
  CLI::App* app = parent.add_subcommand(
      "convert", "Copy a whole store to another backend (any store below), or between dialects and vector stores");
  app->add_option("src", opts->src, "The source store")->required();
  app->add_option("dst", opts->dst, "The destination store")->required();
  app->add_flag("--force", opts->force, "Replace a non-empty destination");
  app->add_flag("--dry-run", opts->dry_run, "Print what would be written and write nothing");
  app->add_flag("--verify", opts->verify, "Read the destination back and compare it with the source (exit 1 if they differ)");
  app->add_option("--dialect", opts->dialect, "Write the store in this dialect: python or ts (default: the source's)")
      ->check(CLI::IsMember({"python", "ts"}));
  app->add_flag("--upgrade", opts->upgrade, "Rewrite an old-era Python store (0.6-0.8) so that LlamaIndex 0.12 loads it");
  app->add_flag("--strict", opts->strict,
                "Refuse (exit 3, nothing written) when the target would not hold everything as the source does");
  app->add_option("--vectors", opts->vectors,
                  "Write the default namespace as a FaissVectorStore index (faiss: IndexFlatL2, faiss-ip: IndexFlatIP) "
                  "or as a SimpleVectorStore (simple)")
      ->check(CLI::IsMember({"faiss", "faiss-ip", "simple"}));
  app->add_option("--dim", opts->dim, "--vectors faiss of a store without vectors: the index's dimension")
      ->check(CLI::PositiveNumber);
  add_wait_option(app, opts->wait, "Seconds to wait for another writer's lock on the destination (default 0)");
  return {app, [opts](Output& out) {
            auto src = open_backend(opts->src);
            auto dst = open_backend(opts->dst);
            std::vector<std::string> notes;
            // A plain copy streams the source's large files into the target
            // (issue #20); what changes the model reads it whole.
            const bool streamed = opts->dialect.empty() && !opts->upgrade && opts->vectors.empty() && !opts->verify &&
                                  streams_into(opts->dst);
            Store store = [&] {
              if (!streamed) return load_store(out, *src, false, false, &notes);
              StreamedReader reader(open_backend(opts->src), std::nullopt);
              return load_store(out, reader, false, false, &notes);
            }();
            if (opts->upgrade) store = upgrade_store(store, notes);
            if (!opts->dialect.empty())
              store = convert_dialect(store, opts->dialect == "ts" ? Dialect::TypeScript : Dialect::Python, notes);
            if (opts->dim && opts->vectors.rfind("faiss", 0) != 0)
              throw Error(ErrorKind::Usage, "--dim", "applies to --vectors faiss and faiss-ip only");
            if (opts->vectors == "simple")
              store = convert_faiss_to_simple(store, notes);
            else if (!opts->vectors.empty())
              store = convert_to_faiss(store, opts->vectors == "faiss-ip" ? FaissMetric::InnerProduct : FaissMetric::L2,
                                       opts->dim, notes);
            // The destination's own losses (pgvector's float32) come after the
            // write as warnings; --strict needs them before it.
            if (opts->strict)
              for (std::string& n : dst->losses(store)) notes.push_back(std::move(n));
            for (const std::string& n : notes) std::fprintf(stderr, "lstore: convert: note: %s\n", n.c_str());
            // spec/CLI.md: a loss under --strict is a finding (exit 1), not an I/O error.
            if (opts->strict && !notes.empty()) {
              std::fprintf(stderr, "lstore: convert: %s: --strict: %s of loss (notes above); nothing written\n",
                           dst->describe().c_str(), plural(notes.size(), "kind").c_str());
              return 1;
            }
            if (opts->dry_run) {
              std::vector<Record> files;
              for (const FileInfo& f : store.files)
                files.push_back({{"id", f.name}, {"kind", file_kind_name(f.kind)}, {"bytes", count(f.size)}});
              if (out.human())
                for (const FileInfo& f : store.files)
                  out.line(out.safe(fmt::format("would write {} ({}) to {}", f.name, plural(f.size, "byte"), dst->describe())));
              else
                out.listing(kPlannedFile, files);
              return 0;
            }
            {
              std::unique_ptr<WriteLock> lock = lock_store(*dst, opts->wait);
              ProgressBar bar("convert", out.quiet());
              SaveOptions save{opts->force, bar.callback(), [&](const std::string& w) { out.warn(w); }};
              try {
                dst->save(store, save);
              } catch (const StreamedWriteRefused&) {
                // Nothing was written: the store read whole is written (or
                // its fault reported) exactly as without streaming.
                store = src->load();
                dst->save(store, save);
              }
              bar.finish();
            }
            // --verify: the destination read back holds what was meant to be
            // written, and (across dialects) means what the source means.
            bool equal = true;
            if (opts->verify) {
              Store written = load_store(out, opts->dst);
              equal = diff_stores(store, written, DiffOptions{}).equal();
              if (equal && !opts->dialect.empty() && !opts->upgrade)
                equal = diff_stores(load_store(out, *src), written, DiffOptions{}).equal();
              if (!equal)
                std::fprintf(stderr, "lstore: convert: %s: differs from %s after writing (see lstore diff)\n",
                             dst->describe().c_str(), src->describe().c_str());
            }
            // A stream on stdout is the data: nothing else goes there.
            bool to_stdout = opts->dst == "jsonl:-" || opts->dst == "jsonl:-.zst";
            if (!to_stdout)
              out.object(kConverted,
                         Record{{"source", src->describe()}, {"destination", dst->describe()},
                                {"files", count(store.files.size())}, {"verified", opts->verify ? Json(equal) : Json()}},
                         [&] {
                           out.line(out.safe(fmt::format("{} -> {}: {}{}", src->describe(), dst->describe(),
                                                         plural(store.files.size(), "file"),
                                                         opts->verify ? (equal ? ", verified" : ", DIFFERENT") : "")));
                         });
            return equal ? 0 : 1;
          }};
}

}  // namespace lstore::cli
