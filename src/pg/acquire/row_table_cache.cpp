#include "pg/acquire/row_table_cache.hpp"

#include "pg/infra/clip.hpp"
#include "pg/infra/compat.hpp"
#include "pg/infra/resource_names.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "catalog/pg_class.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
}

namespace lockguard::pg {

namespace {

constexpr int kCachedTables = 32;
RowTableInfo *entries = nullptr;  // kCachedTables, in TopMemoryContext
int next_victim = 0;             // round robin: hot tables are few
bool callback_registered = false;

void forget_table(Datum /*unused*/, Oid relation) {
    if (entries == nullptr) return;
    for (int i = 0; i < kCachedTables; i++)
        if (relation == InvalidOid || entries[i].relation == relation) entries[i].relation = InvalidOid;
}

void build(RowTableInfo *info, Oid relation) {
    memset(info, 0, sizeof(*info));
    Relation rel = relation_open(relation, NoLock);  // the caller holds AccessShareLock
    info->relkind = rel->rd_rel->relkind;
    strlcpy(info->relname, RelationGetRelationName(rel), sizeof(info->relname));
    info->relnamespace = RelationGetNamespace(rel);
    StringInfoData label;
    initStringInfo(&label);
    format_resource_label(&label, info->relnamespace, info->relname, nullptr, 0);
    strlcpy(info->table_name, label.data, sizeof(info->table_name));
    copy_clipped(info->resource_class, sizeof(info->resource_class), label.data, label.len);
    pfree(label.data);
    Oid pk_index = primary_key_index(rel);
    if (OidIsValid(pk_index)) {
        Relation index = relation_open(pk_index, AccessShareLock);
        info->key_index = pk_index;
        info->key_count = index->rd_index->indnkeyatts;
        for (int i = 0; i < info->key_count; i++) {
            AttrNumber column = index->rd_index->indkey.values[i];
            Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(rel), column - 1);
            info->key_columns[i] = column;
            info->key_types[i] = attr->atttypid;
            info->key_typmods[i] = attr->atttypmod;
            info->key_collations[i] = attr->attcollation;
            Oid input_function;
            Oid output_function;
            bool varlena;
            getTypeInputInfo(attr->atttypid, &input_function, &info->key_ioparams[i]);
            getTypeOutputInfo(attr->atttypid, &output_function, &varlena);
            fmgr_info_cxt(input_function, &info->key_input[i], TopMemoryContext);
            fmgr_info_cxt(output_function, &info->key_output[i], TopMemoryContext);
            TypeCacheEntry *type = lookup_type_cache(attr->atttypid, TYPECACHE_HASH_EXTENDED_PROC_FINFO);
            info->key_typlens[i] = type->typlen;
            info->key_hash[i] = OidIsValid(type->hash_extended_proc_finfo.fn_oid) ? &type->hash_extended_proc_finfo
                                                                                    : nullptr;
            Oid operand_type = index->rd_opcintype[i];
            Oid equality = get_opfamily_member(index->rd_opfamily[i], operand_type, operand_type, BTEqualStrategyNumber);
            info->key_equality_proc[i] = OidIsValid(equality) ? get_opcode(equality) : InvalidOid;
            if (OidIsValid(info->key_equality_proc[i]))
                fmgr_info_cxt(info->key_equality_proc[i], &info->key_equality[i], TopMemoryContext);
            info->key_index_collations[i] = index->rd_indcollation[i];
        }
        relation_close(index, AccessShareLock);
    }
    relation_close(rel, NoLock);
    // The flags from the catalog cache's copy of the pg_class row, where has_subclass() and
    // check_enable_rls() read them.
    HeapTuple class_tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relation));
    if (!HeapTupleIsValid(class_tuple)) elog(ERROR, "cache lookup failed for relation %u", relation);
    auto *class_form = reinterpret_cast<Form_pg_class>(GETSTRUCT(class_tuple));
    info->has_subclass = class_form->relhassubclass;
    info->row_security = class_form->relrowsecurity;
    ReleaseSysCache(class_tuple);
    info->relation = relation;  // last: a build that raised leaves no half entry behind
}

}  // namespace

const RowTableInfo *row_table_info(Oid relation) {
    if (entries == nullptr) {
        entries = static_cast<RowTableInfo *>(MemoryContextAllocZero(TopMemoryContext, sizeof(RowTableInfo) * kCachedTables));
        if (!callback_registered) {
            CacheRegisterRelcacheCallback(forget_table, 0);
            callback_registered = true;
        }
    }
    for (int i = 0; i < kCachedTables; i++)
        if (entries[i].relation == relation) return &entries[i];
    RowTableInfo *info = &entries[next_victim];
    next_victim = (next_victim + 1) % kCachedTables;
    info->relation = InvalidOid;
    build(info, relation);
    return info;
}

}  // namespace lockguard::pg
