#include "pg/infra/resource_names.hpp"

#include "pg/infra/clip.hpp"

extern "C" {
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace lockguard::pg {

void format_resource_label(StringInfo out, Oid schema, const char *relname, const char *const *key_texts,
                           int key_count) {
    const char *schema_name = get_namespace_name(schema);
    // quote_qualified_identifier quotes each part only where SQL needs it, as ruleutils.c does.
    appendStringInfoString(out, schema_name != nullptr ? quote_qualified_identifier(schema_name, relname)
                                                       : quote_identifier(relname));
    append_row_key(out, key_texts, key_count);
}

void append_row_key(StringInfo out, const char *const *key_texts, int key_count) {
    if (key_count == 0) return;
    appendStringInfoChar(out, '(');
    for (int i = 0; i < key_count; i++) appendStringInfo(out, "%s%s", i > 0 ? ", " : "", key_texts[i]);
    appendStringInfoChar(out, ')');
}

void table_label(Oid relation, char *out, size_t size) {
    char *relname = get_rel_name(relation);
    if (relname == nullptr) {
        if (size > 0) out[0] = '\0';
        return;
    }
    StringInfoData label;
    initStringInfo(&label);
    format_resource_label(&label, get_rel_namespace(relation), relname, nullptr, 0);
    copy_clipped(out, size, label.data, label.len);
    pfree(label.data);
}

}  // namespace lockguard::pg
