sudo systemctl status nginx
sudo tail -n 100 /var/log/access.log
cd /var/www/portal
git pull origin main
sudo systemctl reload nginx
cat /etc/config/app.env
psql -h db-prod-01.acme-corp.internal -U portal_app portal_prod
df -h
free -m
top
ssh backup
sudo -i
ls -la /etc/config/
vim /etc/config/app.env
sudo systemctl restart portal
curl -s http://localhost:8080/healthz
curl -s -H "Authorization: Bearer $INTERNAL_API_TOKEN" https://payments-gw.acme-corp.internal/v2/status
redis-cli -h cache-01.acme-corp.internal -a 'r3d1s-c4che-Pr0d' info
grep " 500 " /var/log/access.log | tail
sudo journalctl -u portal --since "1 hour ago"
scp /tmp/portal_dump.sql.gz backup:/srv/backups/
rm /tmp/portal_dump.sql.gz
exit
