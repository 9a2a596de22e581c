// Documents other than workflows read as JSON with the positions of their
// values (what the AsyncAPI catalog reports its findings with).

#include <gtest/gtest.h>

#include "meshflow/dsl/document.hpp"
#include "meshflow/dsl/suggest.hpp"

using namespace meshflow::dsl;
using pointer = nlohmann::json::json_pointer;

namespace {

std::pair<int, int> at(const located_document& d, const std::string& p) {
  auto pos = d.positions.find(pointer{p});
  return {pos.line, pos.column};
}

} // namespace

TEST(located_document, yaml_values_have_their_positions) {
  auto d = parse_located_document("asyncapi: 2.6.0\n"
                                  "channels:\n"
                                  "  store/order:\n"
                                  "    subscribe:\n"
                                  "      operationId: newStoreOrder\n"
                                  "      tags: [a, {name: b}]\n",
                                  "t.yaml");
  ASSERT_TRUE(d.value);
  EXPECT_TRUE(d.diagnostics.empty());
  EXPECT_EQ((*d.value)["channels"]["store/order"]["subscribe"]["operationId"], "newStoreOrder");
  EXPECT_EQ(at(d, ""), std::make_pair(1, 1));
  EXPECT_EQ(at(d, "/asyncapi"), std::make_pair(1, 11));
  EXPECT_EQ(at(d, "/channels/store~1order/subscribe/operationId"), std::make_pair(5, 20));
  EXPECT_EQ(at(d, "/channels/store~1order/subscribe/tags/1/name"), std::make_pair(6, 24));
  // What the document does not hold: the nearest enclosing value.
  EXPECT_EQ(at(d, "/channels/store~1order/publish/operationId"), std::make_pair(4, 5));
  EXPECT_EQ(at(d, "/channels/store~1order/subscribe/tags/7"), std::make_pair(6, 13));
}

TEST(located_document, json_values_have_their_positions) {
  auto d = parse_located_document("{\"a\": {\n  \"b\": [1, 2]\n}}", "t.json");
  ASSERT_TRUE(d.value);
  EXPECT_EQ(at(d, "/a/b/1"), std::make_pair(2, 12));
}

TEST(located_document, unreadable_text_gives_the_reader_s_diagnostics) {
  auto d = parse_located_document("a: [1,\n", "bad.yaml");
  EXPECT_FALSE(d.value);
  ASSERT_EQ(d.diagnostics.size(), 1u);
  EXPECT_EQ(d.diagnostics[0].severity, severity::error);
  EXPECT_TRUE(d.diagnostics[0].message.starts_with("not valid YAML")) << d.diagnostics[0].message;
  auto big = parse_located_document("a: 1\n", "big.yaml", load_options{4});
  EXPECT_FALSE(big.value);
  EXPECT_EQ(to_string(big.diagnostics.at(0)),
            "big.yaml:1:1: error: big.yaml is 5 bytes; documents are limited to 4 bytes");
  // The same checks as parse_document.
  auto same = parse_document("a: [1,\n", "bad.yaml");
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().message, to_string(d.diagnostics[0]));
  EXPECT_EQ(document_positions{}.find(pointer{"/a"}).line, 0);
}

TEST(suggest, a_close_word_is_suggested) {
  EXPECT_EQ(closest("sendOrdr", {"sendOrder", "processedOrder"}), "sendOrder");
  EXPECT_EQ(closest("pubish", {"publish", "subscribe"}), "publish");
  EXPECT_EQ(closest("zzz", {"publish", "subscribe"}), std::nullopt);
}
