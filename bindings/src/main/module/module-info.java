/** jextract's bindings of native/include/mae.h: internal to mae4j, readable only by its Java API. */
module dev.mae4j.bindings {
    exports dev.mae4j.bindings to dev.mae4j;
}
