# An independent implementation of the pinned definitions of `steward audit exposures`
# (docs/metrics.md "Plain-log audit"), written from the contract, run against the binary on
# a random log (duplicates, shuffled positions, zero popularity). Usage: reference_exposures.py STEWARD
import math, random, json, sys, subprocess, os
os.chdir(sys.argv[2] if len(sys.argv) > 2 else ".")
random.seed(3)
items=[(f"i{k}", random.choice(["A","B","C"]), random.choice(["x","y","z","w"]), random.choice([0,1,2,5,10,50,100])) for k in range(60)]
with open("items.csv","w") as f:
    f.write("item_id,group,category,popularity\n")
    for it in items: f.write(",".join(map(str,it))+"\n")
rows=[]
for r in range(500):
    u=random.randint(1,80); g="g%d"%(u%3)
    n=random.randint(1,8)
    for p in range(1,n+1):
        rows.append((f"r{r}",f"u{u}",g,random.choice(items[:40])[0],p if random.random()>0.05 else random.randint(1,9),int(random.random()<0.2)))
with open("log.csv","w") as f:
    f.write("request_id,user_id,user_group,item_id,position,clicked\n")
    for x in rows: f.write(",".join(map(str,x))+"\n")
cat={i[0]:i for i in items}
w=lambda p:1/math.log2(1+p)
gw={}; tot=0
for r in rows:
    g=cat[r[3]][1]; gw[g]=gw.get(g,0)+w(r[4]); tot+=w(r[4])
groups=sorted(set(i[1] for i in items))
share={g:gw.get(g,0)/tot for g in groups}
target={g:sum(1 for i in items if i[1]==g)/len(items) for g in groups}
disp=max(abs(share[g]-target[g]) for g in groups)
rat=[share[g]/target[g] for g in groups]; ratio=min(rat)/max(rat)
lists={}
for r in rows: lists.setdefault(r[0],[]).append(r)
ug={}
for l,rs in lists.items():
    h=rs[0][2]; d=ug.setdefault(h,[0,0]); d[0]+=sum(x[5] for x in rs); d[1]+=1
ctr={h:v[0]/v[1] for h,v in ug.items()}
cnt={i[0]:0 for i in items}
for r in rows: cnt[r[3]]+=1
x=sorted(cnt.values()); n=len(x); gini=sum((2*(i+1)-n-1)*v for i,v in enumerate(x))/(n*sum(x))
cov=sum(1 for v in x if v>0)/n
pops=[i[3] for i in items]; T=sum(pops)
order=sorted(range(len(items)), key=lambda k:-items[k][3]); head=set(); s=0
for k in order:
    if s>=0.8*T: break
    head.add(items[k][0]); s+=items[k][3]
aplt=sum(sum(1 for x in rs if x[3] not in head)/len(rs) for rs in lists.values())/len(lists)
arp=sum(sum(cat[x[3]][3] for x in rs)/len(rs) for rs in lists.values())/len(lists)
cc={}
for r in rows: c=cat[r[3]][2]; cc[c]=cc.get(c,0)+1
H=-sum(v/len(rows)*math.log(v/len(rows)) for v in cc.values())
div=H/math.log(len(set(i[2] for i in items)))
nv=[-math.log2(cat[r[3]][3]/T) for r in rows if cat[r[3]][3]>0]
nov=sum(nv)/len(nv)
ref=dict(lists=len(lists),users=len(set(r[1] for r in rows)),exposure_disparity=disp,exposure_ratio=ratio,ctr_difference=max(ctr.values())-min(ctr.values()),ctr_ratio=min(ctr.values())/max(ctr.values()),gini=gini,coverage=cov,aplt=aplt,arp=arp,diversity_index=div,novelty=nov)
out=json.loads(subprocess.check_output([sys.argv[1],"audit","exposures","--log","log.csv","--items","items.csv","--json"]))
bad=0
for k,v in ref.items():
    if abs(out[k]-v)>1e-9: print("MISMATCH",k,out[k],v); bad+=1
for g in groups:
    if abs(out["exposure_share"][g]-share[g])>1e-12 or abs(out["target_share"][g]-target[g])>1e-12: print("share mismatch",g); bad+=1
for h in ctr:
    if abs(out["user_groups"][h]["ctr"]-ctr[h])>1e-12: print("ctr mismatch"); bad+=1
print("ok" if not bad else "BAD", len(rows))
sys.exit(1 if bad else 0)
